package tokenservice_test

import (
	"os"
	"testing"

	"github.com/datamask/datamask/internal/motoserver"
)

// TestMain shares one moto_server (its Cognito user pool) among the tests.
func TestMain(m *testing.M) { os.Exit(motoserver.Run(m)) }
