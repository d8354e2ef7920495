// Package esdk reads and writes AWS Encryption SDK messages: envelope
// encryption whose output any AWS Encryption SDK (Python, Java, JavaScript,
// .NET, Go, the CLI) and Powertools for AWS Lambda decrypt, and which
// decrypts what they write. It is written on Go's standard crypto from the
// public specification.
package esdk
