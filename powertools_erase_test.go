package datamask_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp/syntax"
	"strings"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/internal/benchdata"
)

// ptCase is one erase case of ../shared/powertools_cases (erase_cases.json
// and examples_cases.json).
type ptCase struct {
	ID                string          `json:"id"`
	Operation         string          `json:"operation"`
	Input             json.RawMessage `json:"input"`
	InputIsJSONString bool            `json:"input_is_json_string"`
	Fields            *[]string       `json:"fields"`
	Options           struct {
		DynamicMask  bool                         `json:"dynamic_mask"`
		CustomMask   string                       `json:"custom_mask"`
		RegexPattern string                       `json:"regex_pattern"`
		MaskFormat   string                       `json:"mask_format"`
		MaskingRules map[string]datamask.MaskRule `json:"masking_rules"`
	} `json:"options"`
	RaiseOnMissing  *bool           `json:"raise_on_missing_field"`
	Expected        json.RawMessage `json:"expected"`
	ExpectedDoc     json.RawMessage `json:"expected_doc"`
	ExpectedError   string          `json:"expected_error"`
	ExpectedWarning string          `json:"expected_warning"`
	Actual2025      *ptActual       `json:"actual_custom_masking_2025"`
	Actual2024      *ptActual       `json:"actual_v3_2_2024_10"`
}

type ptActual struct {
	Result   json.RawMessage `json:"result"`
	Error    string          `json:"error"`
	Warnings []string        `json:"warnings"`
}

// truth returns what Powertools really returned (the 2025 run, else the
// 2024 run, else the upstream assertion), as the shared README says.
func (c *ptCase) truth() (result json.RawMessage, errClass string) {
	for _, a := range []*ptActual{c.Actual2025, c.Actual2024} {
		if a != nil {
			return a.Result, a.Error
		}
	}
	if c.ExpectedError != "" {
		return nil, c.ExpectedError
	}
	if c.Expected != nil {
		return c.Expected, ""
	}
	return c.ExpectedDoc, ""
}

// warnings returns the warnings Powertools really gave.
func (c *ptCase) warnings() []string {
	for _, a := range []*ptActual{c.Actual2025, c.Actual2024} {
		if a != nil {
			return a.Warnings
		}
	}
	return nil
}

func loadPowertoolsCases(t *testing.T, file string) []ptCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(benchdata.SharedDir(), "powertools_cases", file))
	if err != nil {
		t.Fatalf("reading the Powertools cases: %v", err)
	}
	var f struct {
		Cases []ptCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

// differsOnPurpose lists the Powertools cases where datamask behaves
// differently by design, with the reason (copied to the README's
// differences table) and a check of what datamask does instead.
var differsOnPurpose = map[string]struct {
	reason string
	check  func(t *testing.T, out []byte, err error)
}{
	"invalid_regex_returns_original": {
		reason: "A regex_pattern that RE2 cannot compile is an error; Powertools returns the value unchanged, which silently leaks it.",
		check: func(t *testing.T, _ []byte, err error) {
			var se *syntax.Error
			if !errors.As(err, &se) {
				t.Errorf("err = %v, want a regexp/syntax error", err)
			}
		},
	},
	"masking_rules_invalid_path_warns": {
		reason: "An invalid expression in masking rules is an InvalidPathError and nothing is erased; Powertools warns and applies the other rules, leaving the value the bad rule was meant to hide.",
		check: func(t *testing.T, _ []byte, err error) {
			var ipe *datamask.InvalidPathError
			if !errors.As(err, &ipe) || ipe.Expression != "user.ssn..." {
				t.Errorf("err = %v, want *InvalidPathError for %q", err, "user.ssn...")
			}
		},
	},
	"masking_rules_no_match_warns": {
		reason: "Masking rules follow the same missing-field policy as fields: FieldNotFoundError by default, AllowMissingFields to allow and report them; Powertools only warns for rules.",
		check: func(t *testing.T, _ []byte, err error) {
			var fnf *datamask.FieldNotFoundError
			if !errors.As(err, &fnf) || fnf.Expression != "$.missing_field" {
				t.Errorf("err = %v, want *FieldNotFoundError for %q", err, "$.missing_field")
			}
		},
	},
	"masking_rules_list_value_stringified": {
		reason: "A masking rule that selects an array or object masks it leaf by leaf and keeps its structure; Powertools turns the whole value into one string (str(value)) first.",
		check: func(t *testing.T, out []byte, err error) {
			if err != nil || !jsonEqual(t, out, []byte(`{"user":{"name":["NO-NAME","NO-NAME"]}}`)) {
				t.Errorf("Erase = %s, %v, want the array masked element by element", out, err)
			}
		},
	},
	"custom_masking_rules_example": {
		reason: "A rule that sets two ways of masking (the documentation's address.zip rule has dynamic_mask and custom_mask) is an error naming the expression; Powertools silently uses custom_mask.",
		check: func(t *testing.T, _ []byte, err error) {
			if err == nil || !strings.Contains(err.Error(), `"address.zip"`) || !strings.Contains(err.Error(), "more than one way") {
				t.Errorf("err = %v, want an error naming %q", err, "address.zip")
			}
		},
	},
}

func TestPowertoolsEraseCases(t *testing.T) {
	seen := map[string]bool{}
	for _, file := range []string{"erase_cases.json", "examples_cases.json"} {
		for _, c := range loadPowertoolsCases(t, file) {
			if c.Operation != "" && c.Operation != "erase" {
				continue
			}
			seen[c.ID] = true
			t.Run(c.ID, func(t *testing.T) {
				t.Parallel()
				out, missing, err := runPowertoolsCase(t, &c)
				if d, ok := differsOnPurpose[c.ID]; ok {
					d.check(t, out, err)
					return
				}
				want, wantErr := c.truth()
				if wantErr != "" {
					checkErrorClass(t, err, wantErr)
					return
				}
				if err != nil {
					t.Fatalf("Erase = %v, want %s", err, want)
				}
				if !jsonEqual(t, out, want) {
					t.Errorf("Erase = %s, want %s", out, want)
				}
				if w := c.warnings(); len(w) > 0 && len(missing) != len(w) {
					t.Errorf("missing fields reported = %q, want the equivalent of %q", missing, w)
				}
				if err := noPayloadInErrors(t, &c); err != nil {
					t.Error(err)
				}
			})
		}
	}
	for id := range differsOnPurpose {
		if !seen[id] {
			t.Errorf("differsOnPurpose lists %q, which is not a case", id)
		}
	}
}

// runPowertoolsCase runs a case through the public API. A JSON string input
// goes through EraseValue as a Go string, the rest through Erase.
func runPowertoolsCase(t *testing.T, c *ptCase) ([]byte, []string, error) {
	t.Helper()
	var opts []datamask.CallOption
	if c.Fields != nil {
		opts = append(opts, datamask.Fields(*c.Fields...))
	}
	o := c.Options
	switch {
	case o.DynamicMask:
		opts = append(opts, datamask.DynamicMask())
	case o.CustomMask != "":
		opts = append(opts, datamask.CustomMask(o.CustomMask))
	case o.RegexPattern != "":
		opts = append(opts, datamask.RegexMask(o.RegexPattern, o.MaskFormat))
	case o.MaskingRules != nil:
		opts = append(opts, datamask.MaskingRules(o.MaskingRules))
	}
	var missing []string
	if c.RaiseOnMissing != nil && !*c.RaiseOnMissing {
		opts = append(opts, datamask.AllowMissingFields(&missing))
	}
	m, err := datamask.New()
	if err != nil {
		t.Fatal(err)
	}
	if c.InputIsJSONString {
		var s string
		if json.Unmarshal(c.Input, &s) != nil {
			s = string(c.Input) // erase_cases give the object; Python got its JSON text
		}
		out, err := m.EraseValue(s, opts...)
		return out, missing, err
	}
	out, err := m.Erase(c.Input, opts...)
	return out, missing, err
}

func checkErrorClass(t *testing.T, err error, class string) {
	t.Helper()
	var fnf *datamask.FieldNotFoundError
	switch class {
	case "DataMaskingUnsupportedTypeError":
		if !errors.Is(err, datamask.ErrUnsupportedType) {
			t.Errorf("err = %v, want ErrUnsupportedType", err)
		}
	case "DataMaskingFieldNotFoundError":
		if !errors.As(err, &fnf) {
			t.Errorf("err = %v, want *FieldNotFoundError", err)
		}
	case "ValueError":
		if err == nil {
			t.Error("err = nil, want an error")
		}
	default:
		t.Fatalf("unknown Python error class %q", class)
	}
}

// noPayloadInErrors re-runs a case with a field that cannot match and
// checks that the error names the expression and no value of the input.
func noPayloadInErrors(t *testing.T, c *ptCase) error {
	t.Helper()
	_, err := datamask.Erase(c.Input, datamask.Fields("$.no_such_field_here"))
	if err == nil {
		return errors.New("Erase(missing field) = nil error")
	}
	for _, s := range stringsIn(c.Input) {
		if len(s) >= 3 && strings.Contains(err.Error(), s) {
			return errors.New("error text " + err.Error() + " contains a payload value")
		}
	}
	return nil
}

func stringsIn(raw json.RawMessage) []string {
	var v any
	_ = json.Unmarshal(raw, &v)
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("output %s is not JSON: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("expected %s is not JSON: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}
