# The modelgate image: the static binary on scratch, run as a non-root
# uid, with nothing else in the image (no shell, no package manager) for
# an attacker to use. The binary is built outside, by the same command CI
# tests, so that the image holds exactly what was tested:
#
#   CGO_ENABLED=0 go build -trimpath -o dist/modelgate ./cmd/modelgate
#   docker build -t modelgate .
#
# TLS roots: the binary carries Mozilla's (x509roots/fallback) for when
# the image has none. Run it with a read-only root filesystem; the data
# directory is the only writable path (a volume).
FROM scratch
COPY dist/modelgate /modelgate
COPY --chown=65532:65532 deploy/docker/data/ /var/lib/modelgate/
USER 65532:65532
EXPOSE 8443 8444
VOLUME /var/lib/modelgate
ENTRYPOINT ["/modelgate"]
CMD ["serve", "--config", "/etc/modelgate/modelgate.yaml"]
