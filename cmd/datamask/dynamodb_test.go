package main

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/kmstest"
)

// TestScriptsDynamoDB runs the transcripts in testdata/dynamodb/*.txt,
// which need DynamoDB: each script gets a fake KMS as in TestScripts
// ($KMS_KEY_ARN, $KMS_KEY2_ARN, "kmscalls OP N"), the AWS config chain
// pointed at DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB), and $TABLE, a
// table name no other script uses (deleted, if the script created it, when
// the script ends).
func TestScriptsDynamoDB(t *testing.T) {
	endpoint := dynamolocal.Start(t)
	client := dynamolocal.NewClient(endpoint)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/dynamodb",
		Setup: func(e *testscript.Env) error {
			s, err := kmstest.NewServer()
			if err != nil {
				return err
			}
			e.Defer(func() { s.Close() })
			for k, v := range s.Env() {
				e.Setenv(k, v)
			}
			e.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
			e.Setenv("KMS_KEY_ARN", s.CreateKey())
			e.Setenv("KMS_KEY2_ARN", s.CreateKey())
			table := dynamolocal.TableName("cli")
			e.Setenv("TABLE", table)
			e.Defer(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
				var gone *types.ResourceNotFoundException
				if err != nil && !errors.As(err, &gone) {
					t.Errorf("DeleteTable(%q) = %v", table, err)
				}
			})
			e.Values[kmsKey{}] = s
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"kmscalls": func(ts *testscript.TestScript, neg bool, args []string) {
				s := ts.Value(kmsKey{}).(*kmstest.Server)
				if len(args) == 1 && args[0] == "reset" {
					s.ResetCalls()
					return
				}
				if len(args) != 2 || neg {
					ts.Fatalf("usage: kmscalls OP N | kmscalls reset")
				}
				want, err := strconv.Atoi(args[1])
				ts.Check(err)
				if got := s.Calls(kmstest.Op(args[0])); got != want {
					ts.Fatalf("fake KMS served %d %s requests, want %d", got, args[0], want)
				}
			},
		},
	})
}
