package main

// The container image is FROM scratch: it has no CA bundle. The fallback
// roots (Mozilla's, as x/crypto publishes them) are used only when the
// system has none, so a host's own bundle still wins.
import _ "golang.org/x/crypto/x509roots/fallback"
