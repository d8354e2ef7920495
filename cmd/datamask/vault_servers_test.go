package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/datamask/datamask/internal/ddbjson"
	"github.com/datamask/datamask/internal/dynamolocal"
	"github.com/datamask/datamask/internal/pgtest"
	"github.com/datamask/datamask/kmstest"
)

// TestServerScripts runs the transcripts of testdata/servers/*.txt, the
// vault commands on PostgreSQL and DynamoDB Local (test.sh starts them and
// exports their URLs; without them the test skips, and fails under
// CI=true). Besides what TestScripts gives each script (a fake KMS and the
// "kmscalls" command), each script gets:
//
//	$PGVAULT        the URL of a new, empty PostgreSQL database (dropped after)
//	$TABLE, $TABLE2 names of DynamoDB tables no other test uses (deleted after)
//	$SAMPLE_TABLE   the same, for the AWS sample's table
//	AWS_ENDPOINT_URL_DYNAMODB pointing at DynamoDB Local
//
// and the command "sampleitems TABLE VAR", which creates TABLE laid out
// as the AWS serverless tokenization sample's vault, writes into it the
// items that the sample's own code wrote (dbesdk/legacy/testdata/
// tokenization-sample) and one of them tampered under a token of its own,
// imports the sample's KMS key into the script's fake KMS, and sets $VAR
// to that key's ARN.
func TestServerScripts(t *testing.T) {
	pgServer := pgtest.Database(t) // a database whose superuser creates the scripts' own
	endpoint := dynamolocal.Start(t)
	ddb := dynamolocal.NewClient(endpoint)
	// The in-process commands (vaulttokenize, vaultdetokenize) open
	// dynamodb:// vaults through the AWS config chain of this process.
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_REGION": dynamolocal.Region,
		"AWS_ACCESS_KEY_ID": dynamolocal.AccessKeyID, "AWS_SECRET_ACCESS_KEY": dynamolocal.SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "servers"),
		Setup: func(e *testscript.Env) error {
			s, err := kmstest.NewServer()
			if err != nil {
				return err
			}
			e.Defer(func() { s.Close() })
			for k, v := range s.Env() {
				e.Setenv(k, v)
			}
			e.Setenv("KMS_KEY_ARN", s.CreateKey())
			e.Values[kmsKey{}] = s
			e.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
			for _, name := range []string{"TABLE", "TABLE2", "SAMPLE_TABLE"} {
				table := dynamolocal.TableName("datamask-cli")
				e.Setenv(name, table)
				e.Defer(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
				})
			}
			db, err := newDatabase(pgServer)
			if err != nil {
				return err
			}
			e.Setenv("PGVAULT", db.url)
			e.Defer(db.drop)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"vaulttokenize":   vaultCmds["vaulttokenize"],
			"vaultdetokenize": vaultCmds["vaultdetokenize"],
			"kmscalls":        kmsCallsCmd,
			"sleep":           vaultCmds["sleep"],
			"sampleitems": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: sampleitems TABLE VAR")
				}
				sampleItems(ts, ddb, args[0], args[1])
			},
		},
	})
}

// testDatabase is a database of one script.
type testDatabase struct {
	url  string
	drop func()
}

// newDatabase creates a database on the server of serverURL.
func newDatabase(serverURL string) (*testDatabase, error) {
	name := pgtest.DatabaseName("cli")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		_, err = conn.Exec(ctx, sql)
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	if err := exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return nil, err
	}
	u, _ := url.Parse(serverURL)
	u.Path = "/" + name
	return &testDatabase{url: u.String(), drop: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	}}, nil
}

func kmsCallsCmd(ts *testscript.TestScript, neg bool, args []string) {
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
}

func sampleItems(ts *testscript.TestScript, ddb *dynamodb.Client, table, keyVar string) {
	data, err := os.ReadFile(filepath.Join("..", "..", "dbesdk", "legacy", "testdata", "tokenization-sample", "manifest.json"))
	ts.Check(err)
	var m struct {
		Tests map[string]struct {
			Result  string `json:"result"`
			Keyring struct {
				KeyARN string `json:"key_arn"`
				Secret string `json:"kmstest_secret"`
			} `json:"keyring"`
			Ciphertext json.RawMessage `json:"ciphertext"`
		} `json:"tests"`
	}
	ts.Check(json.Unmarshal(data, &m))
	ctx := context.Background()
	_, err = ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("Hash_Key"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("Account_Id"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("Hash_Key"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("Account_Id"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	ts.Check(err)
	put := func(raw json.RawMessage, token string) {
		item, err := ddbjson.Unmarshal(raw)
		ts.Check(err)
		if token != "" {
			item["Hash_Key"] = &types.AttributeValueMemberS{Value: token}
		}
		_, err = ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item})
		ts.Check(err)
	}
	var arn, secret string
	for id, v := range m.Tests {
		arn, secret = v.Keyring.KeyARN, v.Keyring.Secret
		switch {
		case v.Result == "success":
			put(v.Ciphertext, "")
		case id == "sample-tamper-flip-candidate":
			put(v.Ciphertext, "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b")
		}
	}
	key, err := base64.StdEncoding.DecodeString(secret)
	ts.Check(err)
	s := ts.Value(kmsKey{}).(*kmstest.Server)
	_, err = s.ImportKey(arn[strings.LastIndex(arn, "/")+1:], key)
	ts.Check(err)
	ts.Setenv(keyVar, arn)
}
