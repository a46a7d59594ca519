# The Primus image: one static binary on distroless, running as the non-root
# user (65532) the chart's restricted security context expects.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY internal/ internal/
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /primus ./cmd/primus

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /primus /primus
USER 65532:65532
ENTRYPOINT ["/primus"]
