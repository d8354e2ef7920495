package tokenservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/datamask/datamask"
)

// documentRequest is the body of the document routes: a JSON document and
// the JSONPath expressions of its values, per policy.
type documentRequest struct {
	Tenant   string              `json:"tenant"`
	Fields   map[string][]string `json:"fields"`
	Document json.RawMessage     `json:"document"`
}

// callVault is the token vault of one document call: it counts the values,
// hashes the tokens for the audit line, and reveals each policy's values
// as the caller's rights say.
type callVault struct {
	s      *Service
	c      *call
	reveal map[string]Reveal
	mu     sync.Mutex
}

func (v *callVault) TokenizeBatch(ctx context.Context, tenant, policy string, values []string) ([]string, []error, error) {
	toks, errs, err := v.s.vault.TokenizeBatch(ctx, tenant, policy, values)
	v.mu.Lock()
	v.c.ev.Count += len(values)
	v.mu.Unlock()
	return toks, errs, err
}

func (v *callVault) DetokenizeBatch(ctx context.Context, tenant, policy string, tokens []string) ([]string, []error, error) {
	v.mu.Lock()
	v.c.ev.Count += len(tokens)
	if v.s.audit != nil {
		for _, t := range tokens {
			v.c.ev.Tokens = append(v.c.ev.Tokens, v.s.audit.TokenHash(tenant, policy, t))
		}
	}
	v.mu.Unlock()
	values, errs, err := v.s.vault.DetokenizeBatch(ctx, tenant, policy, tokens)
	if err != nil || v.reveal[policy] != RevealLast4 {
		return values, errs, err
	}
	for i := range values {
		if errs[i] != nil {
			continue
		}
		l4, ok := last4(values[i])
		if !ok {
			values[i], errs[i] = "", errNotRevealable
			continue
		}
		values[i] = l4
	}
	return values, errs, nil
}

var errNotRevealable = errors.New("tokenservice: the value is too short to reveal its last four characters")

func (s *Service) documentTokenize(c *call) (int, any)   { return s.document(c, "tokenize") }
func (s *Service) documentDetokenize(c *call) (int, any) { return s.document(c, "detokenize") }

func (s *Service) document(c *call, op string) (int, any) {
	var req documentRequest
	if e := s.decode(c, &req); e != nil {
		return e.Status, e
	}
	if len(req.Fields) == 0 || len(req.Document) == 0 {
		return http.StatusBadRequest, newError(http.StatusBadRequest, CodeBadRequest, `the body needs "document" and "fields" (policy to JSONPath expressions)`)
	}
	policies := make([]string, 0, len(req.Fields))
	for p := range req.Fields {
		policies = append(policies, p)
	}
	slices.Sort(policies)
	c.ev.Policy = fmt.Sprint(policies)
	for _, p := range policies {
		if !s.policies[p] {
			return http.StatusBadRequest, newError(http.StatusBadRequest, CodeUnknownPolicy, fmt.Sprintf("policy %s is not one of the vault's", strconv.Quote(p)))
		}
		if len(req.Fields[p]) == 0 {
			return http.StatusBadRequest, newError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("policy %s has no expression", strconv.Quote(p)))
		}
	}
	tenant, e := s.tenantOf(c, req.Tenant)
	if e != nil {
		return e.Status, e
	}
	purpose := c.r.Header.Get(PurposeHeader)
	if op == "detokenize" {
		if !validPurpose(purpose) {
			return http.StatusBadRequest, newError(http.StatusBadRequest, CodePurposeRequired, "detokenize needs a stated purpose: send "+PurposeHeader)
		}
		c.ev.Purpose = purpose
	}
	reveal := map[string]Reveal{}
	for _, p := range policies {
		rv, e := s.authorize(c, tenant, p)
		if e != nil {
			return e.Status, e
		}
		reveal[p] = rv
	}
	m, err := datamask.New(datamask.WithTokenVault(&callVault{s: s, c: c, reveal: reveal}))
	if err != nil {
		return http.StatusInternalServerError, newError(http.StatusInternalServerError, CodeInternal, "cannot build the masker")
	}
	opts := []datamask.CallOption{datamask.Tenant(tenant)}
	for _, p := range policies {
		opts = append(opts, datamask.TokenFields(p, req.Fields[p]...))
	}
	var out []byte
	if op == "tokenize" {
		out, err = m.Tokenize(c.ctx, req.Document, opts...)
	} else {
		out, err = m.Detokenize(c.ctx, req.Document, opts...)
	}
	if err != nil {
		ae := s.documentError(err)
		c.ev.Errors = 1
		s.metrics.countValues(c.op, ae.Code, 1)
		return ae.Status, ae
	}
	s.metrics.countValues(c.op, "ok", max(c.ev.Count, 1))
	return http.StatusOK, map[string]json.RawMessage{"document": out}
}

// documentError maps an error of Tokenize or Detokenize.
func (s *Service) documentError(err error) *apiError {
	var se *datamask.SyntaxError
	var pe *datamask.InvalidPathError
	var fnf *datamask.FieldNotFoundError
	var fe *datamask.FieldError
	switch {
	case errors.As(err, &se), errors.As(err, &pe):
		return newError(http.StatusBadRequest, CodeBadRequest, trimDatamask(err))
	case errors.As(err, &fnf):
		return newError(http.StatusUnprocessableEntity, CodeFieldNotFound, trimDatamask(err))
	case errors.Is(err, errNotRevealable):
		return newError(http.StatusUnprocessableEntity, CodeNotRevealable, trimDatamask(err))
	case errors.Is(err, datamask.ErrUnsupportedType):
		return newError(http.StatusUnprocessableEntity, CodeUnsupportedType, trimDatamask(err))
	case errors.As(err, &fe):
		ae := vaultError(fe.Err)
		ae.Message = trimDatamask(err)
		return ae
	}
	return vaultError(err)
}

func trimDatamask(err error) string {
	s := err.Error()
	if len(s) > 10 && s[:10] == "datamask: " {
		return s[10:]
	}
	return s
}

var _ datamask.TokenVault = (*callVault)(nil)
