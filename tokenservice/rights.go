package tokenservice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// An Operation is a right a caller may hold on a tenant and policies.
type Operation string

// The operations of the service, each a separate right.
const (
	// OpTokenize issues tokens for values.
	OpTokenize Operation = "tokenize"
	// OpDetokenize gives values back for tokens (in full or in part, see
	// [Reveal]); every call needs a stated purpose and is audited.
	OpDetokenize Operation = "detokenize"
	// OpLookup finds the token a value already has (convergent and FF1
	// policies); audited.
	OpLookup Operation = "lookup"
	// OpDelete deletes tokens; audited.
	OpDelete Operation = "delete"
	// OpForget deletes every token of a value in the tenant, under every
	// policy: its grant must name every policy ("*"); audited.
	OpForget Operation = "forget"
)

var operations = []Operation{OpTokenize, OpDetokenize, OpLookup, OpDelete, OpForget}

func (op Operation) valid() bool { return slices.Contains(operations, op) }

// audited reports whether every call of op is written to the audit trail,
// allowed or not. Refused calls of every operation are audited too.
func (op Operation) audited() bool { return op != OpTokenize }

// Reveal says how much of a value detokenize returns.
type Reveal string

const (
	// RevealFull returns the whole value.
	RevealFull Reveal = "full"
	// RevealLast4 returns only the last four letters or digits (of a
	// value that has at least eight), such as a card number's last four.
	RevealLast4 Reveal = "last4"
)

func (r Reveal) valid() bool { return r == RevealFull || r == RevealLast4 }

// less returns the more restrictive of r and o.
func (r Reveal) less(o Reveal) Reveal {
	if r == RevealLast4 || o == RevealLast4 {
		return RevealLast4
	}
	return RevealFull
}

// AllPolicies in [Grant.Policies] grants every policy of the vault.
const AllPolicies = "*"

// A Grant gives operations on some policies of one tenant. Its JSON form
// is what rights and API key files hold:
//
//	{"tenant": "acme", "policies": ["card"], "operations": ["tokenize", "detokenize"], "reveal": "last4"}
type Grant struct {
	// Tenant is the tenant the grant is for. There is no wildcard: a
	// caller's tenants are listed.
	Tenant string `json:"tenant"`
	// Policies are the policy names the grant covers, or [AllPolicies].
	Policies []string `json:"policies"`
	// Operations are the rights given.
	Operations []Operation `json:"operations"`
	// Reveal limits what detokenize returns under this grant: RevealFull
	// (the default) or RevealLast4.
	Reveal Reveal `json:"reveal,omitempty"`
}

// validate checks g and fills in its defaults.
func (g *Grant) validate() error {
	if g.Tenant == "" || len(g.Tenant) > 256 {
		return errors.New("tenant must be 1 to 256 bytes")
	}
	for _, r := range g.Tenant {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return errors.New("tenant holds a control character or invalid UTF-8")
		}
	}
	if len(g.Policies) == 0 {
		return errors.New(`no policies: list policy names, or "*" for every policy`)
	}
	for _, p := range g.Policies {
		if p == "" {
			return errors.New("an empty policy name")
		}
	}
	if len(g.Operations) == 0 {
		return errors.New("no operations: give some of tokenize, detokenize, lookup, delete, forget")
	}
	for _, op := range g.Operations {
		if !op.valid() {
			return fmt.Errorf("unknown operation %s (known: tokenize, detokenize, lookup, delete, forget)", strconv.Quote(string(op)))
		}
		if op == OpForget && !slices.Contains(g.Policies, AllPolicies) {
			return errors.New(`forget deletes a value under every policy: its grant needs "policies": ["*"]`)
		}
	}
	switch g.Reveal {
	case "":
		g.Reveal = RevealFull
	case RevealFull, RevealLast4:
	default:
		return fmt.Errorf("reveal %s is neither \"full\" nor \"last4\"", strconv.Quote(string(g.Reveal)))
	}
	return nil
}

func (g *Grant) covers(tenant, policy string, op Operation) bool {
	return g.Tenant == tenant && slices.Contains(g.Operations, op) &&
		(slices.Contains(g.Policies, AllPolicies) || slices.Contains(g.Policies, policy))
}

// ParseGrant reads a grant written as TENANT/POLICIES/OPERATIONS[/REVEAL],
// lists comma-separated, as "datamask serve apikey --grant" takes it:
//
//	acme/card,ssn/tokenize,detokenize/last4
//	acme/*/tokenize
func ParseGrant(s string) (Grant, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 3 || len(parts) > 4 {
		return Grant{}, fmt.Errorf("tokenservice: grant %s is not TENANT/POLICIES/OPERATIONS[/REVEAL], such as acme/card/tokenize,detokenize/last4", strconv.Quote(s))
	}
	g := Grant{Tenant: parts[0], Policies: strings.Split(parts[1], ",")}
	for _, op := range strings.Split(parts[2], ",") {
		g.Operations = append(g.Operations, Operation(op))
	}
	if len(parts) == 4 {
		g.Reveal = Reveal(parts[3])
	}
	if err := g.validate(); err != nil {
		return Grant{}, fmt.Errorf("tokenservice: grant %s: %v", strconv.Quote(s), err)
	}
	return g, nil
}

// Rights maps what an identity provider says of a caller (its groups, such
// as Cognito's cognito:groups, and its OAuth scopes) to grants, and says
// how much of each policy's values detokenize reveals. Build it with
// [ParseRights] or [NewRights]; it is immutable.
type Rights struct {
	groups map[string][]Grant
	scopes map[string][]Grant
	reveal map[string]Reveal
}

// RightsSpec is the content of a rights file, for [NewRights].
type RightsSpec struct {
	// Groups maps a group name to the grants of its members.
	Groups map[string][]Grant `json:"groups,omitempty"`
	// Scopes maps an OAuth scope (such as a Cognito resource server's
	// "datamask/tokenize") to the grants of the tokens that carry it.
	Scopes map[string][]Grant `json:"scopes,omitempty"`
	// Reveal caps, per policy, what detokenize returns to every caller:
	// {"card": "last4"} returns only the last four digits of card numbers,
	// whatever a grant says. Policies not named are revealed as the
	// caller's grant says.
	Reveal map[string]Reveal `json:"reveal,omitempty"`
}

// maxRightsFile bounds what ParseRights and ParseAPIKeys read.
const maxRightsFile = 1 << 20

// NewRights validates spec and returns its rights.
func NewRights(spec RightsSpec) (*Rights, error) {
	r := &Rights{groups: map[string][]Grant{}, scopes: map[string][]Grant{}, reveal: map[string]Reveal{}}
	for _, m := range []struct {
		what string
		from map[string][]Grant
		to   map[string][]Grant
	}{{"group", spec.Groups, r.groups}, {"scope", spec.Scopes, r.scopes}} {
		for name, grants := range m.from {
			if name == "" {
				return nil, fmt.Errorf("tokenservice: rights: an empty %s name", m.what)
			}
			for i := range grants {
				g := grants[i]
				g.Policies = slices.Clone(g.Policies)
				g.Operations = slices.Clone(g.Operations)
				if err := g.validate(); err != nil {
					return nil, fmt.Errorf("tokenservice: rights: %s %s, grant %d: %v", m.what, strconv.Quote(name), i+1, err)
				}
				m.to[name] = append(m.to[name], g)
			}
		}
	}
	for policy, rv := range spec.Reveal {
		if !rv.valid() {
			return nil, fmt.Errorf("tokenservice: rights: reveal of policy %s is %s, neither \"full\" nor \"last4\"", strconv.Quote(policy), strconv.Quote(string(rv)))
		}
		r.reveal[policy] = rv
	}
	return r, nil
}

// ParseRights reads a rights file: a JSON object with "groups", "scopes"
// and "reveal" as in [RightsSpec]:
//
//	{
//	  "groups": {
//	    "payments": [{"tenant": "acme", "policies": ["card"], "operations": ["tokenize", "detokenize"], "reveal": "last4"}],
//	    "support":  [{"tenant": "acme", "policies": ["*"], "operations": ["detokenize", "lookup"]}]
//	  },
//	  "scopes": {"datamask/tokenize": [{"tenant": "acme", "policies": ["*"], "operations": ["tokenize"]}]},
//	  "reveal": {"card": "last4"}
//	}
//
// Unknown fields are refused; errors name the group, scope or policy.
func ParseRights(data []byte) (*Rights, error) {
	if len(data) > maxRightsFile {
		return nil, fmt.Errorf("tokenservice: rights file is larger than %d bytes", maxRightsFile)
	}
	var spec RightsSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("tokenservice: rights file: %s", jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("tokenservice: rights file: data after the JSON object")
	}
	return NewRights(spec)
}

// grants returns the grants of a principal under r (nil r: only its own).
func (r *Rights) grants(p *Principal) []Grant {
	gs := slices.Clone(p.Grants)
	if r == nil {
		return gs
	}
	for _, g := range p.Groups {
		gs = append(gs, r.groups[g]...)
	}
	for _, s := range p.Scopes {
		gs = append(gs, r.scopes[s]...)
	}
	return gs
}

// policyReveal returns the cap of policy (RevealFull if none).
func (r *Rights) policyReveal(policy string) Reveal {
	if r != nil {
		if rv, ok := r.reveal[policy]; ok {
			return rv
		}
	}
	return RevealFull
}

// jsonError keeps the parts of encoding/json errors that say what is
// wrong: offsets, field names and types, never a value or a character of
// the input.
func jsonError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at byte offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		if te.Field == "" {
			return "the JSON is a " + te.Value + " where an object is expected"
		}
		return "field " + strconv.Quote(te.Field) + " must be a JSON " + jsonTypeName(te.Type.String())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON"
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + rest
	}
	return "invalid JSON"
}

func jsonTypeName(goType string) string {
	switch {
	case goType == "string", goType == "*string":
		return "string"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "object"
	case goType == "bool":
		return "boolean"
	}
	return "number"
}
