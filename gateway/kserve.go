package gateway

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// KServe v2 (Open Inference Protocol) request validation.

type inferRequest struct {
	ID     string        `json:"id"`
	Inputs []inferTensor `json:"inputs"`
}

type inferTensor struct {
	Name     string         `json:"name"`
	Shape    []int64        `json:"shape"`
	Datatype string         `json:"datatype"`
	Data     jsontext.Value `json:"data"`
}

// intBits gives the range of each integer datatype; the others are
// FP16/FP32/FP64 (numbers), BOOL and BYTES (strings).
var intBits = map[string]struct {
	bits   int
	signed bool
}{
	"INT8": {8, true}, "INT16": {16, true}, "INT32": {32, true}, "INT64": {64, true},
	"UINT8": {8, false}, "UINT16": {16, false}, "UINT32": {32, false}, "UINT64": {64, false},
}

func knownDatatype(dt string) bool {
	_, isInt := intBits[dt]
	return isInt || dt == "FP16" || dt == "FP32" || dt == "FP64" || dt == "BOOL" || dt == "BYTES"
}

// maxKeptNumbers bounds the numbers of a request kept for the monitor's
// near-duplicate signal.
const maxKeptNumbers = 4096

// maxTensorElements bounds a declared shape before anything is counted, so
// an absurd shape is refused by arithmetic, not by running out of memory.
const maxTensorElements = 1 << 32

func parseInfer(body []byte, model string) (*request, *Refusal) {
	var ir inferRequest
	if r := decodeStrict(body, &ir); r != nil {
		return nil, r
	}
	if len(ir.Inputs) == 0 {
		return nil, fieldRefusal("inputs must be a non-empty array of tensors")
	}
	q := &request{model: model}
	for i, in := range ir.Inputs {
		at := "inputs[" + strconv.Itoa(i) + "]"
		if in.Name == "" {
			return nil, fieldRefusal("%s.name is required", at)
		}
		if !knownDatatype(in.Datatype) {
			return nil, fieldRefusal("%s.datatype must be one of BOOL, UINT8-64, INT8-64, FP16, FP32, FP64, BYTES; got %q", at, in.Datatype)
		}
		if in.Shape == nil {
			return nil, fieldRefusal("%s.shape is required", at)
		}
		want := int64(1)
		for j, d := range in.Shape {
			if d < 0 {
				return nil, fieldRefusal("%s.shape[%d] must not be negative in a request, got %d", at, j, d)
			}
			if d > 0 && want > maxTensorElements/d {
				return nil, fieldRefusal("%s.shape declares more than %d elements", at, int64(maxTensorElements))
			}
			want *= d
		}
		if in.Data.Kind() == 0 {
			return nil, fieldRefusal("%s.data is required (the binary tensor extension is not supported)", at)
		}
		if i == 0 {
			q.numbers = q.numbers[:0] // the first input's numbers, for the monitor's signals
		}
		kept := len(q.numbers)
		got, r := q.walkTensor(in.Data, in.Datatype, at+".data", "/inputs/"+strconv.Itoa(i)+"/data")
		if r != nil {
			return nil, r
		}
		if i == 0 && len(in.Shape) >= 2 && in.Shape[0] > 0 {
			q.rowWidth = int(got / in.Shape[0])
		} else if i == 0 {
			q.rowWidth = int(got)
		}
		if i > 0 {
			q.numbers = q.numbers[:kept] // only the first input's
		}
		if got != want {
			return nil, fieldRefusal("%s.data holds %d elements but shape %v needs %d", at, got, in.Shape, want)
		}
		// The first of two or more dimensions is the batch: how many
		// inputs the request asks about.
		batch := int64(1)
		if len(in.Shape) >= 2 {
			batch = in.Shape[0]
		}
		q.batch = max(q.batch, batch)
	}
	return q, nil
}

// walkTensor counts a tensor's elements, flat or nested row-major, checks
// each against the datatype, and collects BYTES elements as text.
func (q *request) walkTensor(data jsontext.Value, dt, at, ptr string) (int64, *Refusal) {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	var (
		n     int64
		index []int // position within each open array
	)
	elemPath := func() (string, string) {
		p, f := ptr, at
		for _, i := range index {
			p += "/" + strconv.Itoa(i)
			f += "[" + strconv.Itoa(i) + "]"
		}
		return p, f
	}
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, fieldRefusal("%s is not a valid tensor: %v", at, err)
		}
		kind := tok.Kind()
		if kind == '{' {
			return 0, fieldRefusal("%s must hold only arrays and %s elements, not objects", at, dt)
		}
		if kind == '[' {
			index = append(index, 0)
			continue
		}
		if kind == ']' {
			// a closed nested array fills one slot of its parent
			index = index[:len(index)-1]
			if len(index) > 0 {
				index[len(index)-1]++
			}
			continue
		}
		p, f := elemPath()
		if len(index) == 0 {
			f = at // a scalar data value
		}
		v, r := checkElement(tok, kind, dt, f)
		if r != nil {
			return 0, r
		}
		if kind == '0' && len(q.numbers) < maxKeptNumbers {
			q.numbers = append(q.numbers, v)
		}
		if dt == "BYTES" {
			q.addText(p, "user", tok.String())
		}
		n++
		if len(index) > 0 {
			index[len(index)-1]++
		}
	}
}

// checkElement checks one element against the datatype and returns its
// value when it is a number (for the monitor's signals), so that it is
// parsed once.
func checkElement(tok jsontext.Token, kind jsontext.Kind, dt, field string) (float64, *Refusal) {
	switch {
	case dt == "BYTES":
		if kind == '"' {
			return 0, nil
		}
		return 0, fieldRefusal("%s must be a string (datatype BYTES)", field)
	case dt == "BOOL":
		if kind == 't' || kind == 'f' {
			return 0, nil
		}
		return 0, fieldRefusal("%s must be true or false (datatype BOOL)", field)
	case kind != '0':
		return 0, fieldRefusal("%s must be a number (datatype %s)", field, dt)
	}
	raw := tok.String()
	if ib, ok := intBits[dt]; ok {
		var (
			v   float64
			err error
		)
		if ib.signed {
			var i int64
			i, err = strconv.ParseInt(raw, 10, ib.bits)
			v = float64(i)
		} else {
			var u uint64
			u, err = strconv.ParseUint(raw, 10, ib.bits)
			v = float64(u)
		}
		if err != nil {
			return 0, fieldRefusal("%s must be an integer within the range of %s, got %s", field, dt, raw)
		}
		return v, nil
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, fieldRefusal("%s must be a finite number (datatype %s), got %s", field, dt, raw)
	}
	return f, nil
}

// checkBatch refuses a KServe request with more inputs than its route
// allows in one request: rate limits count requests, so without a cap a
// batch of thousands costs an attacker one.
func (g *Gateway) checkBatch(x *Exchange) bool {
	limit := int64(x.Route.MaxBatch)
	if limit <= 0 || x.request == nil || x.request.batch <= limit {
		return true
	}
	x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "batch_too_large",
		"the request asks about %d inputs at once; model %q takes at most %d a request", x.request.batch, x.Model, limit))
	return false
}
