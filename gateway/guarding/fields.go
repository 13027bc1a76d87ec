package guarding

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/guard"
)

// Guards read every string of a message and every member name that is not
// plainly part of the API's schema: text can sit anywhere (content,
// content parts, refusals, reasoning, tool and function names and
// arguments, metadata keys, tool parameter names, fields a client or
// server invents). A field is passed over for its position alone, never
// for its name alone, and only when its value is validated to be what that
// position holds:
//
//   - enumerations (a role, a finish reason, a content part's type) are
//     skipped when the value is a short lower-case word, which holds no
//     credential, number or address; any other value there is read;
//   - identifiers (ids, model names, the end-user id) are read, as
//     Identifier segments, which randomness heuristics leave alone;
//   - data: URLs are decoded: text is read (as Decoded segments), and
//     binary of the type it claims (an image that starts like one) is
//     skipped; raw base64 audio likewise.
//
// Member names are read, as MemberName segments, everywhere inside
// free-form objects (metadata, logit_bias, tool parameter schemas, KServe
// parameters) and elsewhere whenever they are not a plain lower-case
// schema word.

// position is what a field's position says about its value.
type position uint8

const (
	posText        position = iota
	posEnum                 // a short enumeration value
	posIdentifier           // an id or a model name
	posDatatype             // a KServe datatype
	posBase64Media          // raw base64 of audio or an image
	posEventType            // a stream event's type, dotted words
	posMediaType            // a MIME type
)

// positions maps a pointer's shape (array indexes as '#') to what the value
// there is.
var positions = map[string]position{
	"/object":                                  posEnum,
	"/messages/#/role":                         posEnum,
	"/messages/#/content/#/type":               posEnum,
	"/messages/#/content/#/image_url/detail":   posEnum,
	"/messages/#/content/#/input_audio/format": posEnum,
	"/messages/#/content/#/input_audio/data":   posBase64Media,
	"/messages/#/tool_calls/#/type":            posEnum,
	"/tools/#/type":                            posEnum,
	"/tool_choice":                             posEnum,
	"/tool_choice/type":                        posEnum,
	"/response_format/type":                    posEnum,
	"/reasoning_effort":                        posEnum,
	"/service_tier":                            posEnum,
	"/encoding_format":                         posEnum,
	"/modalities/#":                            posEnum,
	"/choices/#/finish_reason":                 posEnum,
	"/choices/#/message/role":                  posEnum,
	"/choices/#/delta/role":                    posEnum,
	"/choices/#/message/tool_calls/#/type":     posEnum,
	"/choices/#/delta/tool_calls/#/type":       posEnum,
	"/data/#/object":                           posEnum,
	"/inputs/#/datatype":                       posDatatype,
	"/outputs/#/datatype":                      posDatatype,
	"/type":                                    posEventType,
	"/include/#":                               posEventType,

	// Responses API requests and answers (stream events' "response",
	// "item" and "part" are read as the answer's own; see canonical).
	"/input/#/role":                          posEnum,
	"/input/#/type":                          posEnum,
	"/input/#/status":                        posEnum,
	"/input/#/content/#/type":                posEnum,
	"/input/#/content/#/detail":              posEnum,
	"/input/#/summary/#/type":                posEnum,
	"/input/#/output/#/type":                 posEnum,
	"/reasoning/effort":                      posEnum,
	"/reasoning/summary":                     posEnum,
	"/text/format/type":                      posEnum,
	"/text/verbosity":                        posEnum,
	"/truncation":                            posEnum,
	"/status":                                posEnum,
	"/incomplete_details/reason":             posEnum,
	"/output/#/type":                         posEnum,
	"/output/#/status":                       posEnum,
	"/output/#/role":                         posEnum,
	"/output/#/content/#/type":               posEnum,
	"/output/#/content/#/annotations/#/type": posEnum,
	"/output/#/summary/#/type":               posEnum,

	// Messages API requests and answers (stream events' "message" and
	// "content_block" likewise).
	"/messages/#/content/#/source/type":                 posEnum,
	"/messages/#/content/#/source/media_type":           posMediaType,
	"/messages/#/content/#/source/data":                 posBase64Media,
	"/messages/#/content/#/content/#/type":              posEnum,
	"/messages/#/content/#/content/#/source/type":       posEnum,
	"/messages/#/content/#/content/#/source/media_type": posMediaType,
	"/messages/#/content/#/content/#/source/data":       posBase64Media,
	"/messages/#/content/#/cache_control/type":          posEnum,
	"/system/#/type":               posEnum,
	"/system/#/cache_control/type": posEnum,
	"/tools/#/cache_control/type":  posEnum,
	"/thinking/type":               posEnum,
	"/role":                        posEnum,
	"/content/#/type":              posEnum,
	"/stop_reason":                 posEnum,
	"/usage/service_tier":          posEnum,
	"/delta/type":                  posEnum,
	"/delta/stop_reason":           posEnum,
	"/error/type":                  posEnum,

	"/id":                                posIdentifier,
	"/model":                             posIdentifier,
	"/system_fingerprint":                posIdentifier,
	"/user":                              posIdentifier,
	"/safety_identifier":                 posIdentifier,
	"/prompt_cache_key":                  posIdentifier,
	"/messages/#/tool_call_id":           posIdentifier,
	"/messages/#/tool_calls/#/id":        posIdentifier,
	"/choices/#/message/tool_calls/#/id": posIdentifier,
	"/choices/#/delta/tool_calls/#/id":   posIdentifier,
	"/model_name":                        posIdentifier,
	"/model_version":                     posIdentifier,

	"/previous_response_id":             posIdentifier,
	"/item_id":                          posIdentifier,
	"/input/#/id":                       posIdentifier,
	"/input/#/call_id":                  posIdentifier,
	"/input/#/encrypted_content":        posIdentifier,
	"/output/#/id":                      posIdentifier,
	"/output/#/call_id":                 posIdentifier,
	"/output/#/encrypted_content":       posIdentifier,
	"/messages/#/content/#/id":          posIdentifier,
	"/messages/#/content/#/tool_use_id": posIdentifier,
	"/messages/#/content/#/signature":   posIdentifier,
	"/messages/#/content/#/data":        posIdentifier,
	"/metadata/user_id":                 posIdentifier,
	"/content/#/id":                     posIdentifier,
	"/content/#/signature":              posIdentifier,
	"/content/#/data":                   posIdentifier,
	"/delta/signature":                  posIdentifier,
}

// aliases map the objects stream events wrap to the answer they belong to:
// a Responses event's "response", "item" and "part", a Messages event's
// "message" and "content_block".
var aliases = [...]struct{ prefix, as string }{
	{"/response/", "/"},
	{"/item/", "/output/#/"},
	{"/part/", "/output/#/content/#/"},
	{"/message/", "/"},
	{"/content_block/", "/content/#/"},
}

// canonical returns a pointer shape with stream wrappers aliased.
func canonical(shape []byte) string {
	for _, a := range aliases {
		if rest, ok := bytes.CutPrefix(shape, []byte(a.prefix)); ok {
			return a.as + string(rest)
		}
	}
	return string(shape)
}

// freeForm are the objects whose member names are data, not schema: every
// name at any depth below them is read.
var freeForm = []string{
	"/metadata", "/logit_bias", "/tools/#/function/parameters", "/response_format/json_schema/schema",
	"/parameters", "/inputs/#/parameters", "/outputs/#/parameters",
	"/tools/#/parameters", "/text/format/schema", "/tools/#/input_schema",
	"/messages/#/content/#/input", "/content/#/input",
}

// maxEnum is the longest value taken for an enumeration.
const maxEnum = 24

// enumWord reports whether s can be an enumeration value: a lower-case
// word of letters, digits, '_' and '.', starting with a letter. Such a
// word holds no credential (which mixes case or punctuation), no card or
// account number (too short), and no address.
func enumWord(s string) bool {
	if s == "" || len(s) > maxEnum || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// eventType reports whether s can be a stream event's type: lower-case
// words joined by '.' ("response.output_text.delta"), at most 64 bytes.
// Each word is an enumeration word; the dots, which no credential format
// uses, are what allows the greater length.
func eventType(s string) bool {
	if len(s) > 64 {
		return false
	}
	for w := range strings.SplitSeq(s, ".") {
		if !enumWord(w) {
			return false
		}
	}
	return true
}

// mediaType reports whether s is a plain MIME type ("image/png").
func mediaType(s string) bool {
	major, minor, ok := strings.Cut(s, "/")
	if !ok || len(s) > 64 || !enumWord(major) || minor == "" {
		return false
	}
	for i := 0; i < len(minor); i++ {
		if c := minor[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

// schemaName reports whether a member name is a plain schema word: lower
// case letters and '_' only.
func schemaName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

var datatypes = map[string]bool{"BOOL": true, "BYTES": true, "FP16": true, "FP32": true, "FP64": true, "BF16": true,
	"INT8": true, "INT16": true, "INT32": true, "INT64": true, "UINT8": true, "UINT16": true, "UINT32": true, "UINT64": true}

// fieldReader classifies the strings of one JSON document.
type fieldReader struct {
	role  string // the role given to text segments
	shape []byte // scratch: the pointer's shape
	out   []guard.Segment
}

// textFields returns what guards read in a JSON document, in document
// order: string values (as Prose, Identifier or Decoded segments) and
// member names (as MemberName segments), each with role.
func textFields(data []byte, role string) ([]guard.Segment, error) {
	r := fieldReader{role: role}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return r.out, nil
		}
		if err != nil {
			return nil, err
		}
		if tok.Kind() != '"' {
			continue
		}
		ptr := dec.StackPointer()
		if k, n := dec.StackIndex(dec.StackDepth()); k == '{' && n%2 == 1 {
			r.name(ptr, tok.String())
			continue
		}
		r.value(ptr, tok.String())
	}
}

// name reads a member name unless it is a schema word outside free-form
// objects.
func (r *fieldReader) name(ptr jsontext.Pointer, name string) {
	if schemaName(name) && !r.inFreeForm(ptr) {
		return
	}
	r.out = append(r.out, guard.Segment{Path: string(ptr), Role: r.role, Text: name, Kind: guard.MemberName})
}

func (r *fieldReader) inFreeForm(ptr jsontext.Pointer) bool {
	shape := canonical(r.shapeOf(ptr))
	for _, f := range freeForm {
		// Below f: the member's pointer is f/<name>/...
		if len(shape) > len(f) && strings.HasPrefix(string(shape), f) && shape[len(f)] == '/' {
			return true
		}
	}
	return false
}

// shapeOf returns ptr with every array index replaced by '#', in scratch
// space valid until the next call.
func (r *fieldReader) shapeOf(ptr jsontext.Pointer) []byte {
	r.shape = r.shape[:0]
	p := []byte(ptr)
	for len(p) > 0 {
		// p starts with '/'
		end := bytes.IndexByte(p[1:], '/') + 1
		if end == 0 {
			end = len(p)
		}
		seg := p[1:end]
		r.shape = append(r.shape, '/')
		if isIndex(seg) {
			r.shape = append(r.shape, '#')
		} else {
			r.shape = append(r.shape, seg...)
		}
		p = p[end:]
	}
	return r.shape
}

func isIndex(seg []byte) bool {
	if len(seg) == 0 {
		return false
	}
	for _, c := range seg {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (r *fieldReader) value(ptr jsontext.Pointer, s string) {
	seg := guard.Segment{Path: string(ptr), Role: r.role, Text: s}
	switch positions[canonical(r.shapeOf(ptr))] {
	case posEnum:
		if enumWord(s) {
			return
		}
	case posEventType:
		if eventType(s) {
			return
		}
	case posMediaType:
		if mediaType(s) {
			return
		}
	case posDatatype:
		if datatypes[s] {
			return
		}
	case posIdentifier:
		seg.Kind = guard.Identifier
	case posBase64Media:
		if b, ok := decodeBase64Prefix(s, 16); ok && mediaMagic(b) != "" {
			return // audio or an image of a known format
		}
		// Anything else is read as it stands (a text document's data is
		// plain text, and a credential can be valid base64) and, when it
		// decodes, decoded as well.
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			r.out = append(r.out, guard.Segment{Path: seg.Path, Role: r.role, Text: strings.ToValidUTF8(string(b), "\uFFFD"), Kind: guard.Decoded})
		}
	}
	if len(s) > 5 && strings.EqualFold(s[:5], "data:") {
		text, binary := readDataURL(s)
		if binary {
			return
		}
		seg.Text, seg.Kind = text, guard.Decoded
	}
	r.out = append(r.out, seg)
}

// readDataURL decodes an RFC 2397 data: URL. Binary of the kind its media
// type claims (an image/… that starts like an image) is reported as binary
// and not read; anything else is text to read, whatever its label: a
// "picture" that is really a prompt is read as one. A URL that does not
// parse is read as it stands.
func readDataURL(s string) (text string, binary bool) {
	comma := strings.IndexByte(s, ',')
	if comma < 0 {
		return s, false
	}
	meta, payload := s[5:comma], s[comma+1:]
	isB64 := false
	if i := strings.LastIndexByte(meta, ';'); i >= 0 && strings.EqualFold(strings.TrimSpace(meta[i+1:]), "base64") {
		isB64, meta = true, meta[:i]
	}
	mediaType := strings.ToLower(strings.TrimSpace(meta))
	if i := strings.IndexByte(mediaType, ';'); i >= 0 {
		mediaType = mediaType[:i]
	}
	major, _, _ := strings.Cut(mediaType, "/")
	if isB64 {
		if prefix, ok := decodeBase64Prefix(payload, 16); ok {
			if m := mediaMagic(prefix); m != "" && (m == major || m == mediaType) {
				return "", true
			}
		}
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(payload, "="))
		}
		if err != nil {
			return s, false
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), false
	}
	if dec, err := url.PathUnescape(payload); err == nil {
		payload = dec
	}
	return strings.ToValidUTF8(payload, "\uFFFD"), false
}

// decodeBase64Prefix decodes the first n bytes that s encodes.
func decodeBase64Prefix(s string, n int) ([]byte, bool) {
	k := (n + 2) / 3 * 4
	if len(s) < k {
		k = len(s) / 4 * 4
	}
	b, err := base64.StdEncoding.DecodeString(s[:k])
	return b, err == nil && len(b) > 0
}

// mediaMagic names the kind of binary a prefix starts like: "image",
// "audio", "video" or "application/pdf"; "" when it is none of them.
func mediaMagic(b []byte) string {
	has := func(p string) bool { return bytes.HasPrefix(b, []byte(p)) }
	switch {
	case has("\x89PNG\r\n\x1a\n"), has("\xff\xd8\xff"), has("GIF87a"), has("GIF89a"),
		len(b) >= 10 && has("BM") && string(b[6:10]) == "\x00\x00\x00\x00", has("II*\x00"), has("MM\x00*"), len(b) >= 12 && has("RIFF") && string(b[8:12]) == "WEBP",
		len(b) >= 12 && string(b[4:12]) == "ftypavif", len(b) >= 12 && string(b[4:12]) == "ftypheic":
		return "image"
	case len(b) >= 12 && has("RIFF") && string(b[8:12]) == "WAVE", len(b) >= 5 && has("ID3") && b[3] < 0x10 && b[4] < 0x10, has("fLaC"), has("OggS"),
		len(b) >= 2 && b[0] == 0xff && b[1]&0xe0 == 0xe0:
		return "audio"
	case len(b) >= 8 && string(b[4:8]) == "ftyp":
		return "video"
	case has("%PDF-"):
		return "application/pdf"
	}
	return ""
}
