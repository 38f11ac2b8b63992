# openssl-livepatches: the live patches of libssl.so.3 in libopenssl3
# (built by ../package.sh), written with spec-templates/.  Cumulative:
#   1  CVE-2024-5535 (SSL_select_next_proto)
#   2  nothing new in libssl; CVE-2023-0286 is in libcrypto, patched by
#      openssl-livepatches-libcrypto, which version 2 requires (and which
#      requires it back: installed, upgraded and erased together)
NAME = openssl-livepatches
VERSION = 2
RELEASE = 1
LICENSE = Apache-2.0
TARGET = libssl.so.3
TARGET_PACKAGE = libopenssl3
REQUIRES = $(if $(filter 1,$(VERSION)),,openssl-livepatches-libcrypto = $(VERSION))
REPO =
