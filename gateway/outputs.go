package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelgate/modelgate/store"
)

// A KServe v2 inference answer, as far as output controls need it: the
// outputs are rewritten, every other member is kept as sent.
type inferAnswer struct {
	Outputs []inferOutput  `json:"outputs"`
	Rest    jsontext.Value `json:",embed"`
}

type inferOutput struct {
	Name     string         `json:"name"`
	Shape    []int64        `json:"shape"`
	Datatype string         `json:"datatype"`
	Data     jsontext.Value `json:"data"`
	Rest     jsontext.Value `json:",embed"`
}

// errUncontrolled is an answer the controls could not be applied to: it
// is withheld, since sending it as it is would give away what the
// controls are there to hide.
var errUncontrolled = errors.New("the answer is not a KServe v2 inference response the output controls can apply to")

// controlOutputs applies a route's output controls to an inference answer:
// outputs not kept are dropped, floating-point values rounded, and all but
// the top k values of each row zeroed.
func controlOutputs(body []byte, c *store.OutputControls) ([]byte, error) {
	var a inferAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%w: %v", errUncontrolled, err)
	}
	if a.Outputs == nil {
		return nil, fmt.Errorf("%w: no outputs", errUncontrolled)
	}
	kept := a.Outputs[:0]
	for _, o := range a.Outputs {
		if len(c.Keep) > 0 && !slices.Contains(c.Keep, o.Name) {
			continue
		}
		if o.Datatype == "FP16" || o.Datatype == "FP32" || o.Datatype == "FP64" {
			var err error
			if o.Data, err = controlFloats(o, c); err != nil {
				return nil, fmt.Errorf("%w: output %q: %v", errUncontrolled, o.Name, err)
			}
		}
		kept = append(kept, o)
	}
	a.Outputs = kept
	return json.Marshal(a)
}

// controlFloats rounds and cuts one floating-point tensor, flat or
// nested; rows are the last dimension of its shape.
func controlFloats(o inferOutput, c *store.OutputControls) (jsontext.Value, error) {
	var vals []float64
	if err := flatten(o.Data, &vals); err != nil {
		return nil, err
	}
	width := len(vals)
	if n := len(o.Shape); n >= 2 && o.Shape[n-1] > 0 {
		width = int(o.Shape[n-1])
	}
	if c.TopK > 0 && width > 1 && len(vals)%width == 0 {
		for row := 0; row < len(vals); row += width {
			keepTop(vals[row:row+width], c.TopK)
		}
	}
	if c.Decimals != nil {
		scale := math.Pow10(*c.Decimals)
		for i, v := range vals {
			vals[i] = math.Round(v*scale) / scale
		}
	}
	// The tensor goes back flat: row-major order is the protocol's, and a
	// flat array is valid for any shape.
	b := make([]byte, 0, 8*len(vals)+2)
	b = append(b, '[')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, ']'), nil
}

// keepTop zeroes all but the k highest values of row; ties go to the
// earlier column.
func keepTop(row []float64, k int) {
	if k >= len(row) {
		return
	}
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case row[a] > row[b]:
			return -1
		case row[a] < row[b]:
			return 1
		}
		return 0
	})
	for _, i := range idx[k:] {
		row[i] = 0
	}
}

// flatten appends the numbers of a nested array to out, in order.
func flatten(v jsontext.Value, out *[]float64) error {
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch tok.Kind() {
		case '[', ']':
		case '0':
			f, err := tok.Float()
			if err != nil {
				return err
			}
			*out = append(*out, f)
		default:
			return fmt.Errorf("data must hold only arrays and numbers")
		}
	}
}
