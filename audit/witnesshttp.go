package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// HTTPWitness is a witness reached over the C2SP tlog-witness protocol:
// POST <URL>/add-checkpoint. With Key set, every answer must carry a valid
// cosignature from that key. It can also read the witness's newest
// checkpoint where the witness offers modelgate's monitoring extension
// (GET <URL>/checkpoint?origin=…); for other witnesses Latest says so and
// CheckWitness asks through add-checkpoint instead.
type HTTPWitness struct {
	URL    string // the submission prefix
	Key    *CosignatureVerifier
	Client *http.Client // nil: a client with a 30 s timeout
}

// Name returns the URL.
func (h *HTTPWitness) Name() string { return h.URL }

func (h *HTTPWitness) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// maxWitnessAnswer bounds what is read of a witness's answer.
const maxWitnessAnswer = 64 << 10

// call sends a request to the witness at path (below URL) and returns its
// answer, of which at most maxWitnessAnswer bytes are read.
func (h *HTTPWitness) call(ctx context.Context, method, path string, body io.Reader) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(h.URL, "/")+path, body)
	if err != nil {
		return nil, nil, err
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxWitnessAnswer))
	if err != nil {
		return nil, nil, err
	}
	return resp, answer, nil
}

// AddCheckpoint submits a checkpoint.
func (h *HTTPWitness) AddCheckpoint(ctx context.Context, oldSize int64, proof tlog.TreeProof, checkpoint []byte) ([]byte, error) {
	resp, body, err := h.call(ctx, http.MethodPost, "/add-checkpoint", bytes.NewReader(EncodeAddCheckpoint(oldSize, proof, checkpoint)))
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusConflict:
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/x.tlog.size" {
			size, err := parseSize(strings.TrimSuffix(string(body), "\n"))
			if err != nil {
				return nil, fmt.Errorf("witness %s answered 409 with a size it does not spell: %v", h.Name(), err)
			}
			return nil, &SizeConflict{Witness: h.Name(), Size: size}
		}
		return nil, ErrWitnessRootConflict
	case http.StatusUnprocessableEntity:
		return nil, ErrWitnessProof
	case http.StatusForbidden:
		return nil, ErrWitnessSignature
	case http.StatusNotFound:
		return nil, ErrWitnessUnknownLog
	case http.StatusBadRequest:
		return nil, fmt.Errorf("%w: %s", ErrWitnessBadRequest, firstLine(body))
	default:
		return nil, fmt.Errorf("witness %s answered %d: %s", h.Name(), resp.StatusCode, firstLine(body))
	}
	if h.Key != nil {
		signed := append(append(bytes.TrimRight(checkpoint, "\n"), '\n'), body...)
		if _, err := note.Open(signed, note.VerifierList(h.Key)); err != nil {
			return nil, fmt.Errorf("witness %s answered without a valid cosignature from %s: %v", h.Name(), h.Key.Name(), err)
		}
	}
	return body, nil
}

// Latest reads the witness's newest checkpoint for origin through the
// monitoring extension.
func (h *HTTPWitness) Latest(ctx context.Context, origin string) ([]byte, error) {
	resp, body, err := h.call(ctx, http.MethodGet, "/checkpoint?origin="+url.QueryEscape(origin), nil)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusNoContent:
		return nil, nil // it holds nothing for this log yet
	}
	return nil, ErrNotSupported
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if len(line) > 200 {
		line = line[:200]
	}
	return strconv.Quote(string(line))
}

// WitnessHandler serves a DirWitness over the tlog-witness protocol at
// POST {prefix}/add-checkpoint, and its newest checkpoints at GET
// {prefix}/checkpoint?origin=… (204 when it holds none).
func WitnessHandler(prefix string, w *DirWitness) http.Handler {
	prefix = strings.TrimSuffix(prefix, "/")
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == prefix+"/add-checkpoint" && r.Method == http.MethodPost:
			serveAddCheckpoint(rw, r, w)
		case r.URL.Path == prefix+"/checkpoint" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			cp, err := w.Latest(r.Context(), r.URL.Query().Get("origin"))
			switch {
			case err != nil:
				http.Error(rw, "cannot read the checkpoint", http.StatusInternalServerError)
			case cp == nil:
				rw.WriteHeader(http.StatusNoContent)
			default:
				rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
				rw.Write(cp)
			}
		case r.URL.Path == prefix+"/add-checkpoint" || r.URL.Path == prefix+"/checkpoint":
			http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		default:
			http.NotFound(rw, r)
		}
	})
}

func serveAddCheckpoint(rw http.ResponseWriter, r *http.Request, w *DirWitness) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxWitnessAnswer))
	if err != nil {
		http.Error(rw, "request body too large or unreadable", http.StatusBadRequest)
		return
	}
	old, proof, cp, err := DecodeAddCheckpoint(body)
	if err == nil {
		var cos []byte
		if cos, err = w.AddCheckpoint(r.Context(), old, proof, cp); err == nil {
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rw.Write(cos)
			return
		}
	}
	var sc *SizeConflict
	switch {
	case errors.As(err, &sc):
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", sc.Size)
	case errors.Is(err, ErrWitnessRootConflict):
		http.Error(rw, err.Error(), http.StatusConflict)
	case errors.Is(err, ErrWitnessProof):
		http.Error(rw, err.Error(), http.StatusUnprocessableEntity)
	case errors.Is(err, ErrWitnessUnknownLog):
		http.Error(rw, err.Error(), http.StatusNotFound)
	case errors.Is(err, ErrWitnessSignature):
		http.Error(rw, err.Error(), http.StatusForbidden)
	case errors.Is(err, ErrWitnessBadRequest):
		http.Error(rw, err.Error(), http.StatusBadRequest)
	default:
		http.Error(rw, "the witness could not store the checkpoint", http.StatusInternalServerError)
	}
}
