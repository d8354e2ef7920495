package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/internal/motoserver"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// endpoints are the DynamoDB emulators the helpers must work with.
var endpoints = []struct {
	name  string
	start func(testing.TB) string
}{
	{"DynamoDB Local", Start},
	{"moto", motoserver.Start},
}

type user struct {
	PK    string   `dynamodbav:"pk"`
	SK    string   `dynamodbav:"sk"`
	Name  string   `dynamodbav:"name"`
	Tags  []string `dynamodbav:"tags,stringset"`
	Bytes []byte   `dynamodbav:"bytes"`
}

// TestTableRoundTrip writes, reads, queries and deletes items through
// aws-sdk-go-v2 in a table made by CreateTable, on each emulator, and checks
// the table is gone after the test.
func TestTableRoundTrip(t *testing.T) {
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			client := NewClient(ep.start(t))
			var table string
			t.Run("items", func(t *testing.T) {
				table = CreateTable(t, client, nil)
				roundTrip(t, client, table)
			})
			_, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
			var gone *types.ResourceNotFoundException
			if !errors.As(err, &gone) {
				t.Errorf("DescribeTable(%q) after the test = %v, want ResourceNotFoundException (deleted at cleanup)", table, err)
			}
		})
	}
}

func roundTrip(t *testing.T, client *dynamodb.Client, table string) {
	ctx := t.Context()
	want := []user{
		{PK: "tenant-1", SK: "user-1", Name: "Ada", Tags: []string{"a", "b"}, Bytes: []byte{0, 1, 2, 255}},
		{PK: "tenant-1", SK: "user-2", Name: "Grace", Tags: []string{"c"}, Bytes: []byte("x")},
		{PK: "tenant-2", SK: "user-1", Name: "Other", Tags: []string{"d"}, Bytes: []byte("y")},
	}
	notExists := expression.AttributeNotExists(expression.Name(KeyName))
	cond, err := expression.NewBuilder().WithCondition(notExists).Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range want {
		item, err := attributevalue.MarshalMap(u)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(table),
			Item:                      item,
			ConditionExpression:       cond.Condition(),
			ExpressionAttributeNames:  cond.Names(),
			ExpressionAttributeValues: cond.Values(),
		})
		if err != nil {
			t.Fatalf("PutItem(%s/%s) = %v", u.PK, u.SK, err)
		}
	}

	// The same key again under attribute_not_exists: refused, as the token
	// vault relies on.
	item, _ := attributevalue.MarshalMap(want[0])
	_, err = client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(table),
		Item:                      item,
		ConditionExpression:       cond.Condition(),
		ExpressionAttributeNames:  cond.Names(),
		ExpressionAttributeValues: cond.Values(),
	})
	var failed *types.ConditionalCheckFailedException
	if !errors.As(err, &failed) {
		t.Errorf("PutItem(existing key, attribute_not_exists) = %v, want ConditionalCheckFailedException", err)
	}

	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            key(want[0].PK, want[0].SK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem = %v", err)
	}
	var got user
	if err := attributevalue.UnmarshalMap(out.Item, &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want[0]) {
		t.Errorf("GetItem = %+v, want %+v", got, want[0])
	}

	keyCond, err := expression.NewBuilder().WithKeyCondition(expression.Key(KeyName).Equal(expression.Value("tenant-1"))).Build()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	p := dynamodb.NewQueryPaginator(client, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    keyCond.KeyCondition(),
		ExpressionAttributeNames:  keyCond.Names(),
		ExpressionAttributeValues: keyCond.Values(),
		Limit:                     aws.Int32(1), // one item a page: the paginator must follow LastEvaluatedKey
	})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("Query page %d = %v", pages, err)
		}
		pages++
		var us []user
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &us); err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			names = append(names, u.Name)
		}
	}
	if strings.Join(names, ",") != "Ada,Grace" || pages < 2 {
		t.Errorf("Query(pk = tenant-1) = %q in %d pages, want Ada,Grace in 2 or more", names, pages)
	}

	if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key(want[0].PK, want[0].SK)}); err != nil {
		t.Fatalf("DeleteItem = %v", err)
	}
	out, err = client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key(want[0].PK, want[0].SK), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item != nil {
		t.Errorf("GetItem after DeleteItem = %v, %v, want no item", out.Item, err)
	}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		KeyName:     &types.AttributeValueMemberS{Value: pk},
		SortKeyName: &types.AttributeValueMemberS{Value: sk},
	}
}

// TestCreateTableInput: a caller's schema, index and name prefix are kept.
func TestCreateTableInput(t *testing.T) {
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			client := NewClient(ep.start(t))
			table := CreateTable(t, client, &dynamodb.CreateTableInput{
				TableName: aws.String("vault"),
				AttributeDefinitions: []types.AttributeDefinition{
					{AttributeName: aws.String("token"), AttributeType: types.ScalarAttributeTypeS},
					{AttributeName: aws.String("fingerprint"), AttributeType: types.ScalarAttributeTypeB},
				},
				KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("token"), KeyType: types.KeyTypeHash}},
				GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
					IndexName:  aws.String("by-fingerprint"),
					KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("fingerprint"), KeyType: types.KeyTypeHash}},
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
				}},
			})
			if !strings.HasPrefix(table, "vault-") {
				t.Errorf("CreateTable(TableName: vault) = %q, want it to start with vault-", table)
			}
			d, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
			if err != nil {
				t.Fatal(err)
			}
			td := d.Table
			if td.TableStatus != types.TableStatusActive || len(td.KeySchema) != 1 || aws.ToString(td.KeySchema[0].AttributeName) != "token" ||
				len(td.GlobalSecondaryIndexes) != 1 || aws.ToString(td.GlobalSecondaryIndexes[0].IndexName) != "by-fingerprint" {
				t.Errorf("DescribeTable(%q) = status %s, keys %v, %d indexes; want active, token, by-fingerprint", table, td.TableStatus, td.KeySchema, len(td.GlobalSecondaryIndexes))
			}
			if td.BillingModeSummary == nil || td.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
				t.Errorf("DescribeTable(%q).BillingModeSummary = %+v, want PAY_PER_REQUEST", table, td.BillingModeSummary)
			}
		})
	}
}

func TestTableName(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct{ prefix, wantPrefix string }{
		{"TestFoo/sub_test.1", "TestFoo-sub_test.1-"},
		{"a b\tc#é", "a-b-c--"},
		{"", "-"},
		{long, strings.Repeat("x", 200) + "-"},
	} {
		got := TableName(tc.prefix)
		if !strings.HasPrefix(got, tc.wantPrefix) || len(got) != len(tc.wantPrefix)+16 || invalidTableChars.MatchString(got) {
			t.Errorf("TableName(%q) = %q, want %q and 16 hex digits", tc.prefix, got, tc.wantPrefix)
		}
		if again := TableName(tc.prefix); again == got {
			t.Errorf("TableName(%q) twice = %q both times, want different names", tc.prefix, got)
		}
	}
}

// TestLoopbackOnly: the server listens on 127.0.0.1 only. All of 127/8
// reaches the loopback interface on Linux, so a server listening on every
// interface would answer on 127.0.0.2 too.
func TestLoopbackOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux routes all of 127.0.0.0/8 to the loopback interface")
	}
	u, err := url.Parse(Start(t))
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" {
		t.Fatalf("Start() = %s, want a server on 127.0.0.1", u)
	}
	if _, err := http.Get(u.String()); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	other := "127.0.0.2:" + u.Port()
	if c, err := net.DialTimeout("tcp", other, 2*time.Second); err == nil {
		c.Close()
		t.Errorf("dial %s succeeded, want refused: DynamoDB Local listens beyond 127.0.0.1", other)
	}
}

// TestNewServer starts and stops a server of its own.
func TestNewServer(t *testing.T) {
	if _, err := findInstall(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s, err := NewServer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tables, err := NewClient(s.URL()).ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil || len(tables.TableNames) != 0 {
		t.Errorf("ListTables on a new server = %v, %v, want no tables", tables, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Errorf("GET %s after Close succeeded, want the server gone", s.URL())
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("working directory %s after Close: %v, want it removed", s.dir, err)
	}
}

func TestEnvURL(t *testing.T) {
	u := Start(t)
	t.Setenv(EnvURL, u)
	if got := Start(t); got != u {
		t.Errorf("Start() with %s=%s = %q, want it", EnvURL, u, got)
	}
	for _, bad := range []string{"127.0.0.1:8000", "ftp://127.0.0.1:1", "http://127.0.0.1"} {
		t.Setenv(EnvURL, bad)
		r := runFake(func(tb testing.TB) { Start(tb) })
		if !r.fatal || !strings.Contains(r.msg, EnvURL) {
			t.Errorf("Start() with %s=%q: fatal %v %q, want a fatal error naming %s", EnvURL, bad, r.fatal, r.msg, EnvURL)
		}
	}
}

// TestNotInstalled: without java, Start skips, or fails under CI=true.
func TestNotInstalled(t *testing.T) {
	t.Setenv(EnvURL, "")
	t.Setenv("JAVA_HOME", "")
	t.Setenv("PATH", t.TempDir())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := runFake(func(tb testing.TB) { Start(tb) })
		if r.fatal != (ci == "true") || r.skipped != (ci != "true") {
			t.Errorf("Start() with CI=%q and no java: fatal %v, skipped %v, want fatal only under CI", ci, r.fatal, r.skipped)
		}
		if !strings.Contains(r.msg, "java is not on PATH") && !strings.Contains(r.msg, "npm ci --prefix internal/dynamolocal") {
			t.Errorf("Start() message = %q, want it to say what is missing", r.msg)
		}
	}
}

func TestCleanupUsesLiveContext(t *testing.T) {
	// CreateTable's cleanup must not use tb.Context, which is cancelled
	// before cleanups run: the table must really be deleted.
	client := Client(t)
	f := &fakeTB{name: "TestCleanup"}
	var table string
	runFakeWith(f, func(tb testing.TB) { table = CreateTable(tb, client, nil) })
	if f.fatal {
		t.Fatalf("CreateTable: %s", f.msg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.ctx = ctx
	f.cleanup()
	if f.msg != "" {
		t.Errorf("cleanup: %s", f.msg)
	}
	_, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var gone *types.ResourceNotFoundException
	if !errors.As(err, &gone) {
		t.Errorf("DescribeTable(%q) after cleanup = %v, want ResourceNotFoundException", table, err)
	}
}

// fakeTB records what the helpers do with a testing.TB. Fatal and Skip end
// the goroutine, as they do in the testing package.
type fakeTB struct {
	testing.TB // nil: calling anything not overridden panics
	name       string
	ctx        context.Context
	mu         sync.Mutex
	fatal      bool
	skipped    bool
	msg        string
	cleanups   []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Name() string { return f.name }

func (f *fakeTB) Context() context.Context { return f.ctx }

func (f *fakeTB) Fatal(args ...any) { f.end(&f.fatal, fmt.Sprint(args...)) }

func (f *fakeTB) Fatalf(format string, args ...any) { f.end(&f.fatal, fmt.Sprintf(format, args...)) }

func (f *fakeTB) Skip(args ...any) { f.end(&f.skipped, fmt.Sprint(args...)) }

func (f *fakeTB) Error(args ...any) { f.record(fmt.Sprint(args...)) }

func (f *fakeTB) Errorf(format string, args ...any) { f.record(fmt.Sprintf(format, args...)) }

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) record(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msg += msg
}

func (f *fakeTB) end(flag *bool, msg string) {
	f.mu.Lock()
	*flag = true
	f.msg += msg
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) cleanup() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func runFake(fn func(testing.TB)) *fakeTB {
	f := &fakeTB{}
	runFakeWith(f, fn)
	f.cleanup()
	return f
}

func runFakeWith(f *fakeTB, fn func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
}
