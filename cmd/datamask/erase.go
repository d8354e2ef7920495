package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp/syntax"
	"sort"
	"strings"
	"sync"

	"github.com/datamask/datamask"
)

const eraseUsage = `usage: datamask erase [-f PATH]... [--mask S | --dynamic | --regex RE --format F]
                      [--rules FILE] [--allow-missing] [--ndjson] [FILE]

Erase (irreversibly mask) the values that JSONPath expressions select in the
JSON document read from FILE, or from standard input, and write the result
to standard output. Everything else keeps its exact bytes. Without -f or
--rules the whole document is erased (an array keeps its length).

  -f PATH          a JSONPath expression: RFC 9535 ('$.customers[*].ssn') or the
                   Powertools dialect ('customers[*].ssn', "a.'1'", '[?(@.age > 18)]');
                   repeat -f for several expressions
  --mask S         replace each value with S instead of "*****"
  --dynamic        replace each character with '*', keeping '-', '_', '.' and spaces
  --regex RE       replace each match of RE (RE2 syntax) in a value...
  --format F       ...with F, where $1, ${1} or \1 insert a group
  --rules FILE     per-expression rules, a JSON object whose keys are expressions:
                   {"EXPR": {"custom_mask": "S"} | {"dynamic_mask": true}
                          | {"regex_pattern": "RE", "mask_format": "F"} | {}}
                   (cannot be combined with -f or a mask flag)
  --allow-missing  let expressions select nothing (a warning on standard error)
                   instead of failing
  --ndjson         read one JSON document per line and write one per line, in
                   order, using every CPU core; blank lines are kept as blank lines

With -f, a selected object or scalar becomes "*****" and a selected array
keeps its length with each element "*****"; with a mask flag or --rules,
selected objects and arrays are masked leaf by leaf. Numbers and booleans
are masked through their JSON text. An expression that selects nothing is
an error unless --allow-missing.

Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask erase -f '$.ssn' testdata/customer.json
  datamask erase -f 'address[*].street' -f email --dynamic < customer.json
  datamask erase --rules rules.json customer.json
  datamask erase --ndjson -f '$..email' events.ndjson > masked.ndjson
`

func runErase(e *env, args []string) error {
	fs := newFlagSet("erase")
	var (
		fields       listFlag
		mask         = fs.String("mask", "", "")
		dynamic      = fs.Bool("dynamic", false, "")
		regex        = fs.String("regex", "", "")
		format       = fs.String("format", "", "")
		rulesFile    = fs.String("rules", "", "")
		allowMissing = fs.Bool("allow-missing", false, "")
		ndjson       = fs.Bool("ndjson", false, "")
	)
	fs.Var(&fields, "f", "")
	pos, err := parseArgs(e, fs, eraseUsage, args)
	if err != nil {
		return err
	}
	input, err := inputArg(pos, eraseUsage)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// Build the options and reject conflicting flags.
	var opts []datamask.CallOption
	var masks []string
	for _, name := range []string{"mask", "dynamic", "regex"} {
		if set[name] {
			masks = append(masks, "--"+name)
		}
	}
	switch {
	case len(masks) > 1:
		return usageErrorf("%s cannot be combined: choose one mask", strings.Join(masks, " and "))
	case set["format"] && !set["regex"]:
		return usageErrorf("--format needs --regex")
	case set["regex"] && !set["format"]:
		return usageErrorf("--regex needs --format (what replaces each match)")
	case set["rules"] && (len(fields) > 0 || len(masks) > 0):
		return usageErrorf("--rules cannot be combined with -f or a mask flag").withHint("put every expression and its mask in the rules file")
	case set["mask"]:
		opts = append(opts, datamask.CustomMask(*mask))
	case *dynamic:
		opts = append(opts, datamask.DynamicMask())
	case set["regex"]:
		opts = append(opts, datamask.RegexMask(*regex, *format))
	}
	if len(fields) > 0 {
		opts = append(opts, datamask.Fields(fields...))
	}
	if set["rules"] {
		rules, err := readRules(*rulesFile)
		if err != nil {
			return err
		}
		opts = append(opts, datamask.MaskingRules(rules))
	}

	m, err := datamask.New()
	if err != nil {
		return err
	}
	// Check the expressions and masks once, on an empty object, so that
	// configuration mistakes are usage errors reported before any input.
	if _, err := m.Erase([]byte("{}"), append(opts[:len(opts):len(opts)], datamask.AllowMissingFields(nil))...); err != nil {
		return configError(err)
	}

	if *ndjson {
		return eraseNDJSON(e, m, opts, input, *allowMissing)
	}
	doc, err := readInput(e, input)
	if err != nil {
		return err
	}
	var missing []string
	callOpts := opts
	if *allowMissing {
		callOpts = append(opts[:len(opts):len(opts)], datamask.AllowMissingFields(&missing))
	}
	// The erased document is written as it is made, never whole in
	// memory: erasing costs about the input's size and its index.
	limitMemory(len(doc), 1.75)
	out := &docWriter{w: e.stdout}
	if err := m.EraseTo(out, doc, callOpts...); err != nil {
		if out.err != nil {
			return failure(fmt.Errorf("cannot write output: %v", out.err))
		}
		return eraseError(err, false)
	}
	for _, f := range missing {
		warnf(e, "field %q matched nothing in the document", f)
	}
	return out.end()
}

// configError turns an error of the dry run into a usage error.
func configError(err error) error {
	ue := usageErrorf("%s", strings.TrimPrefix(err.Error(), "datamask: "))
	var ipe *datamask.InvalidPathError
	var se *syntax.Error
	switch {
	case errors.As(err, &ipe):
		ue.withHint("expressions are RFC 9535 JSONPath ('$.a.b', '$.list[*].c', '$..email') or the Powertools dialect ('a.b', 'list[*].c'); quote them for the shell")
	case errors.As(err, &se):
		ue.withHint("patterns use RE2 syntax (https://github.com/google/re2/wiki/Syntax): no lookaround, no backreferences")
	}
	return ue
}

// eraseError adds hints to an error of Erase on the input.
func eraseError(err error, ndjson bool) error {
	var (
		se  *datamask.SyntaxError
		fnf *datamask.FieldNotFoundError
	)
	switch {
	case errors.As(err, &se) && isBOM(se):
		return failure(err, bomHint)
	case errors.As(err, &se) && !ndjson:
		return failure(err, "the input must be one JSON document (UTF-8); use --ndjson for one document per line")
	case errors.As(err, &fnf):
		return failure(err, "use --allow-missing to let expressions select nothing")
	case errors.Is(err, datamask.ErrUnsupportedType):
		return failure(err, "omit -f to erase a scalar document as a whole")
	}
	return failure(err)
}

// readRules reads a --rules file: a JSON object from expressions to
// Powertools-style masking rules. Unknown rule keys, an expression given
// twice and an empty custom_mask are refused, so that a mistake cannot
// silently fall back to another mask.
func readRules(path string) (map[string]datamask.MaskRule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("cannot read the rules file: %v", err)
	}
	notObject := usageErrorf("rules file %s is not a JSON object of expression → rule", path).
		withHint(`write {"$.ssn": {"dynamic_mask": true}, "email": {"custom_mask": "hidden"}}`)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return nil, notObject
	}
	if len(raw) == 0 {
		return nil, usageErrorf("rules file %s has no rule", path)
	}
	// encoding/json keeps the last of duplicate keys: find them.
	dec := json.NewDecoder(bytes.NewReader(b))
	seen := make(map[string]bool, len(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, notObject
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notObject
		}
		expr, _ := tok.(string)
		if seen[expr] {
			return nil, usageErrorf("rules file %s: expression %q has two rules", path, expr).
				withHint("give each expression one rule: a JSON object keeps only one of duplicate keys")
		}
		seen[expr] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, notObject
		}
	}
	exprs := make([]string, 0, len(raw))
	for k := range raw {
		exprs = append(exprs, k)
	}
	sort.Strings(exprs)
	rules := make(map[string]datamask.MaskRule, len(raw))
	const ruleHint = `a rule is {"custom_mask": "S"}, {"dynamic_mask": true}, {"regex_pattern": "RE", "mask_format": "F"} or {}`
	for _, expr := range exprs {
		dec := json.NewDecoder(bytes.NewReader(raw[expr]))
		dec.DisallowUnknownFields()
		var r datamask.MaskRule
		if err := dec.Decode(&r); err != nil {
			return nil, usageErrorf("rules file %s: rule for %q: %v", path, expr, ruleDecodeError(err)).withHint(ruleHint)
		}
		var keys map[string]json.RawMessage
		if json.Unmarshal(raw[expr], &keys) == nil && r.CustomMask == "" && keys["custom_mask"] != nil && string(keys["custom_mask"]) != "null" {
			return nil, usageErrorf("rules file %s: rule for %q: custom_mask is empty", path, expr).
				withHint(`give the text that replaces each value, or {} for the default "*****"`)
		}
		rules[expr] = r
	}
	return rules, nil
}

// ruleDecodeError describes a rule decoding error without quoting values,
// naming JSON types as JSON does.
func ruleDecodeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := map[reflect.Kind]string{reflect.Struct: "object", reflect.Bool: "boolean (true or false)", reflect.String: "string"}[te.Type.Kind()]
		if want == "" {
			want = te.Type.Kind().String()
		}
		if te.Field == "" {
			return "must be a JSON " + want
		}
		return te.Field + " must be a JSON " + want
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		return "unknown key " + strings.TrimPrefix(msg, "json: unknown field ")
	}
	return "not a JSON object"
}

// eraseNDJSON erases each line of the input as its own document.
func eraseNDJSON(e *env, m *datamask.DataMasker, opts []datamask.CallOption, input string, allowMissing bool) error {
	r, err := openInput(e, input)
	if err != nil {
		return err
	}
	defer r.Close()
	var (
		mu      sync.Mutex
		missing = map[string]int{} // expression → documents where it matched nothing
		order   []string
	)
	err = streamNDJSON(r, e.stdout, func(line []byte) ([]byte, error) {
		if !allowMissing {
			return m.Erase(line, opts...)
		}
		var miss []string
		out, err := m.Erase(line, append(opts[:len(opts):len(opts)], datamask.AllowMissingFields(&miss))...)
		if len(miss) > 0 {
			mu.Lock()
			for _, f := range miss {
				if missing[f] == 0 {
					order = append(order, f)
				}
				missing[f]++
			}
			mu.Unlock()
		}
		return out, err
	})
	for _, f := range order {
		warnf(e, "field %q matched nothing in %d document(s)", f, missing[f])
	}
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return eraseError(err, true)
		}
		var ce *cliError
		if errors.As(err, &ce) {
			return err
		}
		return failure(err)
	}
	return nil
}
