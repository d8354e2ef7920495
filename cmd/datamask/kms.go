package main

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
)

// kmsKeyring builds the AWS KMS keyring of --kms-key ARNs with a KMS
// client from the AWS config chain (environment, shared config and
// credentials files, SSO, instance and container roles), which honours
// AWS_ENDPOINT_URL_KMS. Each call goes to the Region of its key's ARN.
func kmsKeyring(ctx context.Context, arns []string) (esdk.Keyring, error) {
	// Building the keyring first reports a bad ARN without looking for
	// credentials.
	if _, err := awskms.NewKeyring(noClient{}, arns); err != nil {
		return nil, usageErrorf("--kms-key: %s", strings.TrimPrefix(err.Error(), "awskms: NewKeyring: "))
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, failure(err, "configure AWS credentials (aws configure, AWS_PROFILE or the AWS_ACCESS_KEY_ID variables)")
	}
	k, err := awskms.NewKeyring(kms.NewFromConfig(cfg), arns)
	if err != nil {
		return nil, failure(err)
	}
	return k, nil
}

// kmsDirectProvider builds the provider of --kms-direct: values that KMS
// encrypted directly with the key arn, through a KMS client from the AWS
// config chain.
func kmsDirectProvider(ctx context.Context, arn string) (datamask.Provider, error) {
	if _, err := awskms.NewDirectProvider(noClient{}, arn); err != nil {
		return nil, usageErrorf("--kms-key: %s", strings.TrimPrefix(err.Error(), "awskms: NewDirectProvider: "))
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, failure(err, "configure AWS credentials (aws configure, AWS_PROFILE or the AWS_ACCESS_KEY_ID variables)")
	}
	p, err := awskms.NewDirectProvider(kms.NewFromConfig(cfg), arn)
	if err != nil {
		return nil, failure(err)
	}
	return p, nil
}

// noClient is a KMS client that is never called: it lets awskms validate
// ARNs before the AWS configuration is loaded.
type noClient struct{ awskms.Client }
