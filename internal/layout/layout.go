// Package layout holds the test that keeps modelgate's import graph a tree
// pointing from cmd to the capabilities to finding and store: the
// libraries others may embed (audit verification, the guards, the
// scanners, signing) never import the data plane, the control plane, the
// configuration or the CLI.
package layout
