module primus.dev/primus

go 1.26.0
