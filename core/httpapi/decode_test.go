package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
)

type strictInner struct {
	Name string `json:"name"`
}

type strictEmbedded struct {
	Zone string `json:"zone"`
}

type strictRequest struct {
	strictEmbedded
	Label   string            `json:"label"`
	Options map[string]string `json:"options"`
	Items   []strictInner     `json:"items"`
	Inner   *strictInner      `json:"inner"`
	Raw     json.RawMessage   `json:"raw"`
	Any     any               `json:"any"`
	Skipped string            `json:"-"`
	Plain   int
}

// TestDecodeStrict: what DecodeBytes refuses beyond encoding/json, with the
// field it names, at any depth; and what stays accepted.
func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, field string
	}{
		{"duplicate", `{"label": "a", "label": "b"}`, "label"},
		{"case variant", `{"Label": "a"}`, "Label"},
		{"case variant after exact", `{"label": "a", "LABEL": "b"}`, "LABEL"},
		{"case variant of an untagged field", `{"plain": 1}`, "plain"},
		{"case variant of a promoted field", `{"Zone": "x"}`, "Zone"},
		{"duplicate map key", `{"options": {"a": "1", "a": "2"}}`, "options.a"},
		{"duplicate in an array element", `{"items": [{"name": "a"}, {"name": "b", "name": "c"}]}`, "items[1].name"},
		{"case variant in a nested object", `{"inner": {"NAME": "a"}}`, "inner.NAME"},
		{"duplicate inside raw JSON", `{"raw": {"k": 1, "k": 2}}`, "raw.k"},
		{"duplicate inside any", `{"any": [{"k": 1, "k": 2}]}`, "any[0].k"},
		{"lone high surrogate", `{"label": "\ud800"}`, "label"},
		{"high surrogate then a letter", `{"label": "\ud800\u0041"}`, "label"},
		{"lone low surrogate", `{"label": "x\udfff"}`, "label"},
		{"reversed pair", `{"label": "\udc00\ud800"}`, "label"},
		{"raw invalid byte", "{\"label\": \"a\xffb\"}", "label"},
		{"encoded surrogate", "{\"label\": \"\xed\xa0\x80\"}", "label"},
		{"invalid map key", `{"options": {"\ud800": "x"}}`, "options"},
		{"invalid top-level key", `{"\udc00": 1}`, "body"},
		{"invalid map value", `{"options": {"k": "\ud800"}}`, "options.k"},
		{"invalid array element", `{"any": ["ok", "\ud800"]}`, "any[1]"},
		{"empty key twice", `{"options": {"": "1", "": "2"}}`, `options.""`},
	} {
		var v strictRequest
		err := DecodeBytes([]byte(tc.body), &v)
		ae, ok := apperr.As(err)
		if !ok || ae.Code != apperr.Invalid || len(ae.Fields) != 1 {
			t.Errorf("%s: %s: error %v, want one Invalid field", tc.name, tc.body, err)
			continue
		}
		if ae.Fields[0].Field != tc.field {
			t.Errorf("%s: field %q, want %q (%s)", tc.name, ae.Fields[0].Field, tc.field, ae.Fields[0].Message)
		}
	}

	var got strictRequest
	body := `{"label": "\ud83d\ude80 \ufffd \\u0041", "zone": "eu", "options": {"a": "1", "A": "2"}, "raw": {"K": 1, "k": 2}, "Plain": 3}`
	if err := DecodeBytes([]byte(body), &got); err != nil {
		t.Fatalf("accepted body refused: %v", err)
	}
	want := strictRequest{
		strictEmbedded: strictEmbedded{Zone: "eu"}, Label: "🚀 \ufffd \\u0041",
		Options: map[string]string{"a": "1", "A": "2"}, Raw: json.RawMessage(`{"K": 1, "k": 2}`), Plain: 3,
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(strictRequest{})); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}
