module github.com/dcs-access/dcs-access

go 1.26.8
