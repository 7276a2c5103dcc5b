package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Rego policies are modules of package sigstore whose rule isCompliant
// decides, queried as cosign does.
const (
	regoPackage = "sigstore"
	regoRule    = "isCompliant"
	regoQuery   = regoRule + " = data." + regoPackage + "." + regoRule
	regoModule  = regoPackage + ".rego"
)

// unsafeRegoBuiltins are the builtins disabled unless
// EvaluatorOptions.UnsafeRegoBuiltins: network access and the process
// environment.
var unsafeRegoBuiltins = map[string]struct{}{
	"http.send":          {},
	"net.lookup_ip_addr": {},
	"opa.runtime":        {},
}

// regoPolicy is a prepared Rego query; OPA allows concurrent evaluations
// of one.
type regoPolicy struct {
	query rego.PreparedEvalQuery
}

// evaluateRego evaluates a Rego policy as cosign's
// ValidateJSONWithModuleInput does. warning is set when the policy is
// compliant but returned a warning.
func (e *Evaluator) evaluateRego(ctx context.Context, src string, input []byte) (warning, err error) {
	defer func() {
		if r := recover(); r != nil {
			warning, err = nil, fmt.Errorf("rego evaluator panicked: %v", r)
		}
	}()
	c := e.compiledFor(PolicyTypeRego, src, func() (*compiledPolicy, bool) {
		opts := []func(*rego.Rego){
			rego.Query(regoQuery),
			rego.Module(regoModule, src),
			rego.SetRegoVersion(ast.RegoV0),
		}
		if !e.opts.UnsafeRegoBuiltins {
			opts = append(opts, rego.UnsafeBuiltins(unsafeRegoBuiltins))
		}
		q, err := rego.New(opts...).PrepareForEval(ctx)
		if err != nil {
			// Do not remember failures caused by the deadline.
			return &compiledPolicy{err: err}, ctx.Err() == nil
		}
		return &compiledPolicy{rego: &regoPolicy{query: q}}, true
	})
	if c.err != nil {
		return nil, c.err
	}

	var in any
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("decode policy input: %w", err)
	}
	rs, err := c.rego.query.Eval(ctx, rego.EvalInput(in))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		}
		return nil, err
	}
	for _, result := range rs {
		switch response := result.Bindings[regoRule].(type) {
		case []any:
			return regoSetResult(response)
		case bool:
			if response {
				return nil, nil
			}
		}
	}
	return nil, fmt.Errorf("policy is not compliant for query '%s'", regoQuery)
}

// regoSetResult interprets isCompliant as a set of result objects, as
// cosign's evaluateRegoEvalMapResult does: the first compliant object
// decides, else the last one's error does. Unlike cosign, a member that
// is not an object is an error rather than a panic.
func regoSetResult(response []any) (warning, retErr error) {
	// Named as cosign's type: json errors quote the type name.
	type CosignRuleResult struct {
		Warning string `json:"warning,omitempty"`
		Error   string `json:"error,omitempty"`
		Result  bool   `json:"result,omitempty"`
	}
	retErr = fmt.Errorf("policy is not compliant for query %q", regoQuery)
	for _, r := range response {
		rMap, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("policy is not compliant for query '%s' due to parsing errors: %s contains %T, want an object", regoQuery, regoRule, r)
		}
		mapBytes, err := json.Marshal(rMap)
		if err != nil {
			return nil, fmt.Errorf("policy is not compliant for query '%s' due to parsing errors: %w", regoQuery, err)
		}
		var res CosignRuleResult
		if err := json.Unmarshal(mapBytes, &res); err != nil {
			return nil, fmt.Errorf("policy is not compliant for query '%s' due to parsing errors: %w", regoQuery, err)
		}
		if res.Result {
			if res.Warning == "" {
				return nil, nil
			}
			return fmt.Errorf("warning: %s", res.Warning), nil
		}
		warning = errors.New(res.Warning)
		retErr = fmt.Errorf("policy is not compliant for query '%s' with errors: %s", regoQuery, res.Error)
	}
	return warning, retErr
}
