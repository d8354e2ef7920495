module github.com/datamask/datamask/examples/tokenization

go 1.26

replace github.com/datamask/datamask => ../..

require (
	github.com/aws/aws-lambda-go v1.55.1 // indirect
	github.com/awslabs/aws-lambda-go-api-proxy v0.16.2 // indirect
)
