# openssl-livepatches-libcrypto: the live patches of libcrypto.so.3 in
# libopenssl3, from version 2 of openssl-livepatches on (see
# ../openssl-livepatches/config.mk).  Cumulative:
#   2  CVE-2023-0286 (GENERAL_NAME_cmp); X509_check_host refuses names
#      with an embedded NUL again, through the library's private
#      do_x509_check (a reference, see livepatch.c)
NAME = openssl-livepatches-libcrypto
VERSION = 2
RELEASE = 1
LICENSE = Apache-2.0
TARGET = libcrypto.so.3
TARGET_PACKAGE = libopenssl3
REQUIRES = openssl-livepatches = $(VERSION)
REPO =
