package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// statements returns the IAM statements of a policy document.
func statements(t *testing.T, doc map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range doc["Statement"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

// checkLeastPrivilege: KMS actions on the vault's key only, DynamoDB
// actions on the vault's table (and its indexes) only; no wildcard action
// or resource.
func checkLeastPrivilege(t *testing.T, stmts []map[string]any, keyRef, tableRef func(any) bool) {
	t.Helper()
	if len(stmts) != 2 {
		t.Fatalf("%d statements, want 2 (KMS, DynamoDB)", len(stmts))
	}
	for _, s := range stmts {
		if s["Effect"] != "Allow" {
			t.Errorf("statement %v is not Allow", s["Sid"])
		}
		var actions []string
		for _, a := range s["Action"].([]any) {
			actions = append(actions, a.(string))
		}
		var resources []any
		switch r := s["Resource"].(type) {
		case []any:
			resources = r
		default:
			resources = []any{r}
		}
		for _, r := range resources {
			if r == "*" {
				t.Errorf("statement %v grants every resource", s["Sid"])
			}
		}
		switch {
		case strings.HasPrefix(actions[0], "kms:"):
			if !slices.Equal(actions, []string{"kms:Decrypt", "kms:GenerateDataKey"}) {
				t.Errorf("KMS actions %v, want Decrypt and GenerateDataKey only", actions)
			}
			if len(resources) != 1 || !keyRef(resources[0]) {
				t.Errorf("KMS resources %v, want the vault's key only", resources)
			}
			cond, _ := s["Condition"].(map[string]any)
			if cond == nil {
				t.Error("the KMS statement has no encryption context condition")
			}
		case strings.HasPrefix(actions[0], "dynamodb:"):
			for _, a := range actions {
				if !strings.HasPrefix(a, "dynamodb:") || strings.Contains(a, "*") || strings.Contains(a, "Delete"+"Table") || strings.Contains(a, "CreateTable") {
					t.Errorf("DynamoDB action %s", a)
				}
			}
			for _, r := range resources {
				if !tableRef(r) {
					t.Errorf("DynamoDB resource %v is not the vault's table", r)
				}
			}
		default:
			t.Errorf("unexpected actions %v", actions)
		}
	}
}

func TestTemplate(t *testing.T) {
	data, err := os.ReadFile("template.json")
	if err != nil {
		t.Fatal(err)
	}
	var tpl map[string]any
	if err := json.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	fn := tpl["Resources"].(map[string]any)["TokenizationFunction"].(map[string]any)["Properties"].(map[string]any)
	pol := fn["Policies"].([]any)[0].(map[string]any)
	checkLeastPrivilege(t, statements(t, pol),
		func(r any) bool { m, _ := r.(map[string]any); return m["Ref"] == "VaultKeyArn" },
		func(r any) bool {
			m, _ := r.(map[string]any)
			s, _ := m["Fn::Sub"].(string)
			return strings.HasSuffix(s, ":table/${VaultTableName}") || strings.HasSuffix(s, ":table/${VaultTableName}/index/*")
		})
	// The environment the template sets is what the function reads.
	vars := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	if _, err := loadConfig(func(k string) string {
		if _, ok := vars[k]; ok {
			return "x"
		}
		return ""
	}); err != nil {
		t.Errorf("the template's environment: %v", err)
	}
	// POST /v1/... behind the Cognito authorizer.
	ev := fn["Events"].(map[string]any)["Api"].(map[string]any)["Properties"].(map[string]any)
	if ev["Method"] != "POST" || ev["Path"] != "/v1/{proxy+}" || ev["Auth"].(map[string]any)["Authorizer"] != "Cognito" {
		t.Errorf("the API route: %v", ev)
	}

	data, err = os.ReadFile("iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	checkLeastPrivilege(t, statements(t, doc),
		func(r any) bool {
			s, _ := r.(string)
			return strings.Contains(s, ":kms:") && strings.Contains(s, ":key/")
		},
		func(r any) bool {
			s, _ := r.(string)
			return strings.HasSuffix(s, ":table/datamask-vault") || strings.HasSuffix(s, ":table/datamask-vault/index/*")
		})
}
