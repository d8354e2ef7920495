package datamask_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/datamask/datamask"
)

func TestErase(t *testing.T) {
	F := datamask.Fields
	tests := []struct {
		name string
		doc  string
		opts []datamask.CallOption
		want string
	}{
		// No fields: the whole document.
		{"object", `{"a":1}`, nil, `"*****"`},
		{"array keeps length", `[1, [2, 3], {"a": 4}, null]`, nil, `["*****", "*****", "*****", "*****"]`},
		{"empty array", ` [ ] `, nil, ` [ ] `},
		{"scalar", `"secret"`, nil, `"*****"`},
		{"custom mask keeps structure", `{"u":{"n":"Ana","l":[1,true]},"e":{}}`, []datamask.CallOption{datamask.CustomMask("X")}, `{"u":{"n":"X","l":["X","X"]},"e":{}}`},
		{"dynamic on leaves", `{"ssn":"123-45-6789","n":-1.5,"b":true,"z":null,"s":""}`, []datamask.CallOption{datamask.DynamicMask()}, `{"ssn":"***-**-****","n":"-*.*","b":"****","z":"****","s":""}`},
		{"dynamic runes not bytes", `"é😀 ü"`, []datamask.CallOption{datamask.DynamicMask()}, `"** *"`},

		// Fields with the default mask.
		{"scalar field", `{"a":"x","b":"y"}`, []datamask.CallOption{F("a")}, `{"a":"*****","b":"y"}`},
		{"scalar document with $", ` "secret" `, []datamask.CallOption{F("$")}, ` "*****" `},
		{"object field", `{"a":{"b":1},"c":2}`, []datamask.CallOption{F("$.a")}, `{"a":"*****","c":2}`},
		{"array field keeps length", `{"a":[{"b":1}, [2], 3]}`, []datamask.CallOption{F("a")}, `{"a":["*****", "*****", "*****"]}`},
		{"nested match covered", `{"a":{"b":1}}`, []datamask.CallOption{F("a", "a.b")}, `{"a":"*****"}`},
		{"filter selects elements", `{"l":[{"p":1},{"p":5}]}`, []datamask.CallOption{F("$.l[?(@.p > 2)]")}, `{"l":[{"p":1},"*****"]}`},
		{"filter then member", `{"l":[{"p":1,"s":"a"},{"p":5,"s":"b"}]}`, []datamask.CallOption{F("$.l[?(@.p > 2)].s")}, `{"l":[{"p":1,"s":"a"},{"p":5,"s":"*****"}]}`},
		{"duplicate keys all masked", `{"ssn":"1","ssn":"2"}`, []datamask.CallOption{F("ssn")}, `{"ssn":"*****","ssn":"*****"}`},
		{"regex filter dialect", `[{"n":"John"},{"n":"Ana"}]`, []datamask.CallOption{F("$[?(@.n =~ 'oh')].n")}, `[{"n":"*****"},{"n":"Ana"}]`},

		// Fields with a mask option: leaf by leaf.
		{"custom on array", `{"a":["x",{"y":1}]}`, []datamask.CallOption{F("a"), datamask.CustomMask("NO")}, `{"a":["NO",{"y":"NO"}]}`},
		{"custom used as given", `{"a":"x"}`, []datamask.CallOption{F("a"), datamask.CustomMask("a \"long\" mask é<>")}, `{"a":"a \"long\" mask é<>"}`},
		{"dynamic number", `{"age":30}`, []datamask.CallOption{F("age"), datamask.DynamicMask()}, `{"age":"**"}`},
		{"dynamic escaped string", `{"a":"\u0041\n-B"}`, []datamask.CallOption{F("a"), datamask.DynamicMask()}, `{"a":"**-*"}`},
		{"regex python groups", `{"e":"john@x.com"}`, []datamask.CallOption{F("e"), datamask.RegexMask(`(.)(.*)(@.*)`, `\1****\3`)}, `{"e":"j****@x.com"}`},
		{"regex go groups", `{"e":"john@x.com"}`, []datamask.CallOption{F("e"), datamask.RegexMask(`(.)(.*)(@.*)`, `${1}****$3`)}, `{"e":"j****@x.com"}`},
		{"regex named groups", `{"e":"john@x.com"}`, []datamask.CallOption{F("e"), datamask.RegexMask(`(?P<first>.).*(?P<dom>@.*)`, `\g<first>*\g<2>$dom`)}, `{"e":"j*@x.com@x.com"}`},
		{"regex literal dollar", `{"p":"10"}`, []datamask.CallOption{F("p"), datamask.RegexMask(`\d+`, `US$ $x $9 $$`)}, `{"p":"US$ $x $9 $"}`},
		{"regex all matches", `{"s":"a1b22c333"}`, []datamask.CallOption{F("s"), datamask.RegexMask(`\d+`, `#`)}, `{"s":"a#b#c#"}`},
		{"regex on number text", `{"n":1.50}`, []datamask.CallOption{F("n"), datamask.RegexMask(`0$`, `X`)}, `{"n":"1.5X"}`},

		// Masking rules.
		{"rules", `{"email":"johndoe@example.com","age":30,"address":{"zip":13000,"street":"1 Main"}}`,
			[]datamask.CallOption{datamask.MaskingRules(map[string]datamask.MaskRule{
				"email":       {RegexPattern: `(.)(.*)(@.*)`, MaskFormat: `\1****\3`},
				"age":         {DynamicMask: true},
				"address.zip": {CustomMask: "xxx"},
			})},
			`{"email":"j****@example.com","age":"**","address":{"zip":"xxx","street":"1 Main"}}`},
		{"rule default mask is leafwise", `{"a":{"b":1,"c":[2]}}`,
			[]datamask.CallOption{datamask.MaskingRules(map[string]datamask.MaskRule{"a": {}})},
			`{"a":{"b":"*****","c":["*****"]}}`},
		{"outer rule covers inner", `{"a":{"b":"xy"}}`,
			[]datamask.CallOption{datamask.MaskingRules(map[string]datamask.MaskRule{"a": {CustomMask: "O"}, "a.b": {DynamicMask: true}})},
			`{"a":{"b":"O"}}`},
		{"same node same rule", `{"a":"xy"}`,
			[]datamask.CallOption{datamask.MaskingRules(map[string]datamask.MaskRule{"a": {CustomMask: "O"}, "$.a": {CustomMask: "O"}})},
			`{"a":"O"}`},

		// Lossless output.
		{"lossless", "{\n  \"id\": 12345678901234567890,\n  \"price\": 1.50,\n  \"z\": \"\\u00e9\\/\",\n  \"ssn\" : \"123\" ,\n  \"a\": [ 1e2 ]\n}\n",
			[]datamask.CallOption{F("ssn")},
			"{\n  \"id\": 12345678901234567890,\n  \"price\": 1.50,\n  \"z\": \"\\u00e9\\/\",\n  \"ssn\" : \"*****\" ,\n  \"a\": [ 1e2 ]\n}\n"},
	}
	m, err := datamask.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.doc)
			got, err := m.Erase(in, tt.opts...)
			if err != nil {
				t.Fatalf("Erase(%s) = %v", tt.doc, err)
			}
			if string(got) != tt.want {
				t.Errorf("Erase(%s) = %s, want %s", tt.doc, got, tt.want)
			}
			if string(in) != tt.doc {
				t.Errorf("Erase modified its input: %s", in)
			}
			// The package-level Erase behaves the same, and EraseTo
			// writes the same.
			if got2, err := datamask.Erase(in, tt.opts...); err != nil || string(got2) != tt.want {
				t.Errorf("datamask.Erase(%s) = %s, %v, want %s", tt.doc, got2, err, tt.want)
			}
			var buf bytes.Buffer
			if err := m.EraseTo(&buf, in, tt.opts...); err != nil || buf.String() != tt.want {
				t.Errorf("EraseTo(%s) wrote %s, %v, want %s", tt.doc, buf.Bytes(), err, tt.want)
			}
		})
	}
}

func TestEraseErrors(t *testing.T) {
	F := datamask.Fields
	secret := "4111-1111-1111-1111"
	doc := `{"card":"` + secret + `","n":[1,2]}`
	var (
		fnf *datamask.FieldNotFoundError
		ipe *datamask.InvalidPathError
		se  *datamask.SyntaxError
	)
	tests := []struct {
		name  string
		doc   string
		opts  []datamask.CallOption
		check func(error) bool
		msg   string
	}{
		{"missing field", doc, []datamask.CallOption{F("card", "$.nope")},
			func(err error) bool { return errors.As(err, &fnf) && fnf.Expression == "$.nope" }, `field "$.nope" matched nothing`},
		{"invalid path", doc, []datamask.CallOption{F("$.a[")},
			func(err error) bool { return errors.As(err, &ipe) && ipe.Expression == "$.a[" && ipe.Offset == 4 }, `invalid field expression "$.a[" at offset 4`},
		{"invalid dialect path", doc, []datamask.CallOption{F("user.ssn...")},
			func(err error) bool { return errors.As(err, &ipe) && ipe.Offset == 10 }, "expected a name"},
		{"invalid filter regex", doc, []datamask.CallOption{F(`$[?(@.card =~ "[0-9")]`)},
			func(err error) bool { return errors.As(err, &ipe) && ipe.Offset == -1 }, `invalid regular expression "[0-9" in search()`},
		{"scalar document", `"` + secret + `"`, []datamask.CallOption{F("a")},
			func(err error) bool { return errors.Is(err, datamask.ErrUnsupportedType) }, "fields need an object or array document, not a string"},
		{"invalid JSON", `{"card":"` + secret + `",}`, nil,
			func(err error) bool { return errors.As(err, &se) && se.Offset == 30 }, "invalid JSON at byte offset 30: expected a string key"},
		{"invalid UTF-8", "{\"card\":\"\xff\"}", nil,
			func(err error) bool { return errors.As(err, &se) && se.Offset == 9 }, "invalid UTF-8"},
		{"empty input", " \n", nil,
			func(err error) bool { return errors.As(err, &se) && se.Offset == 2 }, "input is empty"},
		{"bad regex", doc, []datamask.CallOption{F("card"), datamask.RegexMask(`(?<=x)`, "y")},
			func(err error) bool { return err != nil }, "RegexMask: regex_pattern is not valid RE2 syntax"},
		{"regex missing group", doc, []datamask.CallOption{F("card"), datamask.RegexMask(`(\d)`, `\2`)},
			func(err error) bool { return err != nil }, "refers to group 2, but the pattern has 1"},
		{"regex bad escape", doc, []datamask.CallOption{F("card"), datamask.RegexMask(`\d`, `\q`)},
			func(err error) bool { return err != nil }, `unknown escape \q`},
		{"rule with two ways", doc, []datamask.CallOption{datamask.MaskingRules(map[string]datamask.MaskRule{"card": {CustomMask: "x", DynamicMask: true}})},
			func(err error) bool { return err != nil }, `masking rule "card" sets more than one way`},
		{"rule regex without format", doc, []datamask.CallOption{datamask.MaskingRules(map[string]datamask.MaskRule{"card": {RegexPattern: "x"}})},
			func(err error) bool { return err != nil }, "has regex_pattern but no mask_format"},
		{"rule format without regex", doc, []datamask.CallOption{datamask.MaskingRules(map[string]datamask.MaskRule{"card": {MaskFormat: "x"}})},
			func(err error) bool { return err != nil }, "has mask_format but no regex_pattern"},
		{"conflicting rules", doc, []datamask.CallOption{datamask.MaskingRules(map[string]datamask.MaskRule{"card": {CustomMask: "x"}, "$.card": {DynamicMask: true}, "n": {}})},
			func(err error) bool { return err != nil }, `masking rules "$.card" and "card" select the same value with different rules`},
		{"two masks", doc, []datamask.CallOption{datamask.CustomMask("x"), datamask.DynamicMask()},
			func(err error) bool { return err != nil }, "DynamicMask conflicts with CustomMask"},
		{"context on erase", doc, []datamask.CallOption{datamask.EncryptionContext(map[string]string{"a": "b"})},
			func(err error) bool { return err != nil }, "EncryptionContext applies only to Encrypt and Decrypt"},
		{"empty custom mask", doc, []datamask.CallOption{F("card"), datamask.CustomMask("")},
			func(err error) bool { return err != nil }, "CustomMask: the mask is empty"},
		{"path not UTF-8", doc, []datamask.CallOption{F("$.card\xff")},
			func(err error) bool { return errors.As(err, &ipe) && ipe.Offset == 6 }, `invalid field expression "$.card\xff" at offset 6: not valid UTF-8`},
		{"empty fields", doc, []datamask.CallOption{F()},
			func(err error) bool { return err != nil }, "no expression given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 3 { // map order must not change the error
				got, err := datamask.Erase([]byte(tt.doc), tt.opts...)
				if !tt.check(err) {
					t.Fatalf("Erase(%s) = %s, %v, want the %s error", tt.doc, got, err, tt.name)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("Erase(%s) error = %q, want it to contain %q", tt.doc, err, tt.msg)
				}
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "1111") {
					t.Errorf("Erase error %q contains payload bytes", err)
				}
				if !strings.HasPrefix(err.Error(), "datamask: ") {
					t.Errorf("Erase error %q lacks the datamask: prefix", err)
				}
			}
		})
	}
}

// TestEraseHostileNesting erases documents nested thousands of levels deep
// with expressions that have two descendant segments or a filter after one.
// The RFC 9535 result lists each node once per enclosing match, and a
// filter decodes each nested candidate: done naively, a 60 KB document
// makes gigabytes of allocations. Erase must stay linear in the document.
func TestEraseHostileNesting(t *testing.T) {
	const depth = 5000
	tests := []struct {
		name, expr string
		doc        string
		masked     int // "*****" in the output
	}{
		{"two descendant segments", "$..a..b", strings.Repeat(`{"b":1,"a":`, depth) + "0" + strings.Repeat("}", depth), depth - 1},
		{"filter after a descendant segment", "$..[?(@.x == 1)].x", strings.Repeat(`[{"x":1,"a":`, depth) + "0" + strings.Repeat("}]", depth), depth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			out, err := datamask.Erase([]byte(tt.doc), datamask.Fields(tt.expr))
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("Erase(%q) = %v", tt.expr, err)
			}
			if got := strings.Count(string(out), `"*****"`); got != tt.masked {
				t.Errorf("Erase(%q) masked %d values, want %d", tt.expr, got, tt.masked)
			}
			limit := uint64(200 * len(tt.doc))
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit {
				t.Errorf("Erase(%q) of a %d-byte document allocated %d bytes, want at most %d", tt.expr, len(tt.doc), alloc, limit)
			}
		})
	}
}

func TestAllowMissingFields(t *testing.T) {
	doc := []byte(`{"a":{"b":1},"c":2}`)
	var missing []string
	got, err := datamask.Erase(doc, datamask.Fields("x", "a", "a.b", "$.y[0]"), datamask.AllowMissingFields(&missing))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"a":"*****","c":2}` {
		t.Errorf("Erase = %s, want %s", got, `{"a":"*****","c":2}`)
	}
	// "a.b" matched (covered by "a"): only x and $.y[0] are missing, in order.
	if want := []string{"x", "$.y[0]"}; fmt.Sprint(missing) != fmt.Sprint(want) {
		t.Errorf("missing = %q, want %q", missing, want)
	}
	// Without a slice the call still succeeds.
	if _, err := datamask.Erase(doc, datamask.Fields("x"), datamask.AllowMissingFields(nil)); err != nil {
		t.Errorf("Erase(AllowMissingFields(nil)) = %v", err)
	}
}

type customer struct {
	Name    string          `json:"name"`
	SSN     string          `json:"ssn"`
	Age     int             `json:"age"`
	Tags    []string        `json:"tags,omitempty"`
	Extra   json.RawMessage `json:"extra,omitempty"`
	private string
}

func TestEraseValue(t *testing.T) {
	m, err := datamask.New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    any
		opts []datamask.CallOption
		want string
	}{
		{"struct with tags", customer{Name: "Ana", SSN: "123", Age: 5, private: "p"}, []datamask.CallOption{datamask.Fields("ssn", "age")}, `{"name":"Ana","ssn":"*****","age":"*****"}`},
		{"pointer to struct", &customer{Name: "Ana", Tags: []string{"a", "b"}}, []datamask.CallOption{datamask.Fields("tags")}, `{"name":"Ana","ssn":"","age":0,"tags":["*****","*****"]}`},
		{"raw message inside struct", customer{Extra: json.RawMessage(`{"id":12345678901234567890}`)}, []datamask.CallOption{datamask.Fields("name")}, `{"name":"*****","ssn":"","age":0,"extra":{"id":12345678901234567890}}`},
		{"map", map[string]any{"b": 1, "a": "x"}, []datamask.CallOption{datamask.Fields("a")}, `{"a":"*****","b":1}`},
		{"raw message kept byte for byte", json.RawMessage(`{ "n" : 1.50, "s": "x" }`), []datamask.CallOption{datamask.Fields("s")}, `{ "n" : 1.50, "s": "*****" }`},
		{"JSON string with fields", `{"card_number":"1111","address":{"postcode":12345}}`, []datamask.CallOption{datamask.Fields("card_number", "address.postcode")}, `{"card_number":"*****","address":{"postcode":"*****"}}`},
		{"string without fields", `{"a":1}`, nil, `"*****"`},
		{"string with dynamic mask", "ab-c", []datamask.CallOption{datamask.DynamicMask()}, `"**-*"`},
		{"slice", []int{1, 2, 3}, nil, `["*****","*****","*****"]`},
		{"array (a tuple)", [3]any{1, 2, map[string]int{"a": 3}}, []datamask.CallOption{datamask.Fields("[2].a")}, `[1,2,{"a":"*****"}]`},
		{"bytes are JSON text", []byte(`{"a": 1.50, "b": 2}`), []datamask.CallOption{datamask.Fields("a")}, `{"a": "*****", "b": 2}`},
		{"nil", nil, nil, `"*****"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.EraseValue(tt.v, tt.opts...)
			if err != nil {
				t.Fatalf("EraseValue(%#v) = %v", tt.v, err)
			}
			if string(got) != tt.want {
				t.Errorf("EraseValue(%#v) = %s, want %s", tt.v, got, tt.want)
			}
		})
	}
}

func TestEraseValueUnsupported(t *testing.T) {
	cyclic := map[string]any{"a": 1}
	cyclic["self"] = cyclic
	for name, v := range map[string]any{"channel": make(chan int), "cycle": cyclic, "func": func() {}} {
		t.Run(name, func(t *testing.T) {
			_, err := datamask.Erase(nil) // sanity: the package works
			if err == nil {
				t.Fatal("Erase(nil) = nil error, want a SyntaxError")
			}
			m, _ := datamask.New()
			_, err = m.EraseValue(v, datamask.Fields("a"))
			if !errors.Is(err, datamask.ErrUnsupportedType) {
				t.Fatalf("EraseValue(%s) = %v, want ErrUnsupportedType", name, err)
			}
			var ute *json.UnsupportedTypeError
			var uve *json.UnsupportedValueError
			if !errors.As(err, &ute) && !errors.As(err, &uve) {
				t.Errorf("EraseValue(%s) error %v does not keep the encoding/json cause", name, err)
			}
		})
	}
}

func TestEraseValueCodec(t *testing.T) {
	calls := 0
	m, err := datamask.New(datamask.WithJSONCodec(func(v any) ([]byte, error) {
		calls++
		return []byte(`{"codec":"yes","ssn":"1"}`), nil
	}, func([]byte, any) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.EraseValue(struct{}{}, datamask.Fields("ssn"))
	if err != nil || string(got) != `{"codec":"yes","ssn":"*****"}` || calls != 1 {
		t.Errorf("EraseValue with codec = %s, %v (calls %d), want the codec's document erased", got, err, calls)
	}
}

// TestEraseConcurrent shares one DataMasker (and its caches) between
// goroutines; run with -race.
func TestEraseConcurrent(t *testing.T) {
	m, err := datamask.New()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				field := fmt.Sprintf("f%d", (g+i)%7)
				doc := fmt.Sprintf(`{"%s":"v","keep":1}`, field)
				out, err := m.Erase([]byte(doc), datamask.Fields(field), datamask.RegexMask(`v`, `w`))
				if err != nil || string(out) != fmt.Sprintf(`{"%s":"w","keep":1}`, field) {
					errs <- fmt.Errorf("Erase(%s) = %s, %v", doc, out, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
