module github.com/datamask/datamask

go 1.26
