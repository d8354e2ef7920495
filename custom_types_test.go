package datamask_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/internal/benchdata"
)

// Go equivalents of Powertools' custom types: a dataclass or a pydantic
// model is a struct with json tags; an object with a dict() method is a
// type with MarshalJSON; a dict is a map; a tuple is a Go array.

type person struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

// dictLike marshals like a Python object whose dict() returns name and age.
type dictLike struct{ name string }

func (d dictLike) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"name": d.name, "age": 30})
}

type valued struct {
	Value int `json:"value"`
}

// customTypeCases maps each case id of custom_types_cases.json to a Go
// value, the erase options and the expected document. prepare_data cases
// (Powertools' conversion step) are checked through EraseValue with a
// field that keeps the value, so the converted document is visible.
var customTypeCases = map[string]struct {
	v      any
	fields []string
	want   string
	err    error
}{
	"prepare_primitives_unchanged":    {v: []any{"hello", 123, 3.14, true, nil}, fields: []string{"$[5]"}, want: `["hello",123,3.14,true,null]`},
	"prepare_dict_unchanged":          {v: map[string]any{"x": "y", "z": 10}, fields: []string{"$.nope"}, want: `{"x":"y","z":10}`},
	"prepare_list":                    {v: []any{1, "a", map[string]int{"b": 2}}, fields: []string{"$.nope"}, want: `[1,"a",{"b":2}]`},
	"prepare_tuple":                   {v: [3]any{1, 2, map[string]int{"a": 3}}, fields: []string{"[2].a"}, want: `[1,2,{"a":"*****"}]`},
	"prepare_set":                     {v: map[int]struct{}{1: {}, 2: {}, 3: {}}, fields: []string{"$.*"}, want: `{"1":"*****","2":"*****","3":"*****"}`},
	"prepare_dataclass":               {v: person{Name: "delta", Age: 50}, fields: []string{"$.nope"}, want: `{"name":"delta","age":50}`},
	"prepare_pydantic":                {v: &person{Name: "alpha", Age: 30}, fields: []string{"$.nope"}, want: `{"name":"alpha","age":30}`},
	"prepare_object_with_dict_method": {v: dictLike{name: "beta"}, fields: []string{"$.nope"}, want: `{"age":30,"name":"beta"}`},
	"prepare_object_fallback___dict__": {v: struct {
		Value int `json:"value"`
	}{100}, fields: []string{"$.nope"}, want: `{"value":100}`},
	"prepare_nested_mixed": {v: map[string]any{
		"dc": struct {
			X int    `json:"x"`
			Y string `json:"y"`
		}{10, "foo"},
		"pm":     map[string]any{"a": 5, "b": "bar"},
		"custom": json.RawMessage(`{"z":"baz"}`),
		"nested": map[string]any{"list": []any{map[string]any{"x": 1, "y": "inner"}, &struct {
			A int    `json:"a"`
			B string `json:"b"`
		}{2, "inner2"}}},
	}, fields: []string{"$.nope"}, want: `{"custom":{"z":"baz"},"dc":{"x":10,"y":"foo"},"nested":{"list":[{"x":1,"y":"inner"},{"a":2,"b":"inner2"}]},"pm":{"a":5,"b":"bar"}}`},
	// Go differs on purpose: encoding/json refuses a cycle, Powertools
	// stops at values it has already visited.
	"prepare_circular_reference":  {v: cyclicMap(), fields: []string{"a"}, err: datamask.ErrUnsupportedType},
	"erase_pydantic_model_fields": {v: person{Name: "powertools", Age: 5}, fields: []string{"age"}, want: `{"name":"powertools","age":"*****"}`},
	"erase_dataclass_fields":      {v: &person{Name: "powertools", Age: 5}, fields: []string{"age"}, want: `{"name":"powertools","age":"*****"}`},
	"erase_custom_class_fields":   {v: dictLike{name: "powertools"}, fields: []string{"age"}, want: `{"age":"*****","name":"powertools"}`},
	"erase_nested_complex_recursive": {v: struct {
		Pydantic  valued          `json:"pydantic"`
		Dataclass *valued         `json:"dataclass"`
		Custom    dictLike        `json:"custom"`
		Plain     map[string]int  `json:"plain_dict"`
		List      []any           `json:"list"`
		Raw       json.RawMessage `json:"raw"`
	}{valued{10}, &valued{20}, dictLike{name: "example"}, map[string]int{"value": 40}, []any{valued{50}, map[string]int{"value": 60}}, json.RawMessage(`{"value":70}`)},
		fields: []string{"$..value"},
		want:   `{"pydantic":{"value":"*****"},"dataclass":{"value":"*****"},"custom":{"age":30,"name":"example"},"plain_dict":{"value":"*****"},"list":[{"value":"*****"},{"value":"*****"}],"raw":{"value":"*****"}}`},
}

func cyclicMap() map[string]any {
	m := map[string]any{"a": 1}
	m["self"] = m
	return m
}

func TestPowertoolsCustomTypes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(benchdata.SharedDir(), "powertools_cases", "custom_types_cases.json"))
	if err != nil {
		t.Fatalf("reading the Powertools cases: %v", err)
	}
	var f struct {
		Cases []struct {
			ID string `json:"id"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) != len(customTypeCases) {
		t.Errorf("%d cases in the file, %d Go equivalents", len(f.Cases), len(customTypeCases))
	}
	m, err := datamask.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Cases {
		t.Run(c.ID, func(t *testing.T) {
			tc, ok := customTypeCases[c.ID]
			if !ok {
				t.Fatalf("no Go equivalent for case %q", c.ID)
			}
			got, err := m.EraseValue(tc.v, datamask.Fields(tc.fields...), datamask.AllowMissingFields(nil))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("EraseValue = %s, %v, want %v", got, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("EraseValue = %s, %v, want %s", got, err, tc.want)
			}
		})
	}
}
