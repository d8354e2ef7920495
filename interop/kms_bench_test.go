package interop

import (
	"context"
	"fmt"
	"testing"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

// kmsCalls returns the KMS calls the fake has served.
func kmsCalls(srv *kmstest.Server) int {
	n := 0
	for _, c := range srv.CallCounts() {
		n += c
	}
	return n
}

// BenchmarkKMS encrypts and decrypts 1 KiB under one KMS key of the fake
// KMS (loopback, no added latency): datamask with its caching manager warm
// (the data key cached) and off, and the official Go ESDK's AWS KMS keyring,
// which has no cache. kms-calls/op is what each costs in KMS requests; a
// real KMS adds its round trip (milliseconds) to every call.
func BenchmarkKMS(b *testing.B) {
	srv := kmstest.Start(b)
	key := srv.CreateKey()
	client := newKMSClient(srv)
	off := newOfficial(b)
	ctx := context.Background()
	offKR, err := off.KMSKeyring(ctx, client, key)
	if err != nil {
		b.Fatal(err)
	}
	kr, err := awskms.NewKeyring(client, []string{key})
	if err != nil {
		b.Fatal(err)
	}
	dm := newOurs(b, kr)
	pt := randomBytes(1024, 1)

	run := func(b *testing.B, op func() error) {
		b.ReportAllocs()
		b.SetBytes(int64(len(pt)))
		if err := op(); err != nil { // warm up: fill any cache
			b.Fatal(err)
		}
		srv.ResetCalls()
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(kmsCalls(srv))/float64(b.N), "kms-calls/op")
	}
	for _, suite := range []uint16{suite0478, suite0578} {
		opts := []esdk.EncryptOption{esdk.WithSuite(esdk.Suite(suite)), esdk.WithEncryptionContext(benchContext)}
		msg, err := dm.client.Encrypt(ctx, pt, dm.cmm, opts...)
		if err != nil {
			b.Fatal(err)
		}
		for _, op := range []string{"encrypt", "decrypt"} {
			prefix := fmt.Sprintf("op=%s/suite=%04x", op, suite)
			for _, cached := range []bool{true, false} {
				name := prefix + "/impl=datamask/cache=off"
				var mm esdk.MaterialsManager = dm.cmm
				if cached {
					name = prefix + "/impl=datamask/cache=warm"
					c, err := esdk.NewCachingCMM(dm.cmm)
					if err != nil {
						b.Fatal(err)
					}
					mm = c
				}
				b.Run(name, func(b *testing.B) {
					run(b, func() error {
						if op == "encrypt" {
							_, err := dm.client.Encrypt(ctx, pt, mm, opts...)
							return err
						}
						_, _, err := dm.client.Decrypt(ctx, msg, mm, esdk.WithExpectedContext(benchContext))
						return err
					})
				})
			}
			b.Run(prefix+"/impl=official", func(b *testing.B) {
				run(b, func() error {
					if op == "encrypt" {
						_, err := off.Encrypt(ctx, offKR, pt, OfficialEncryptOptions{Suite: suite, FrameLength: 4096, EncryptionContext: benchContext})
						return err
					}
					_, err := off.Decrypt(ctx, offKR, msg, benchContext)
					return err
				})
			})
		}
	}
}
