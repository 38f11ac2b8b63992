# What the livepatch package is: fill in for your library.
NAME = demo-livepatches
# The livepatch release: every new version is cumulative.
VERSION = 1
RELEASE = 1
LICENSE = MIT
# The library file the patches apply to, and the package shipping it.
TARGET = libdemo.so.1
TARGET_PACKAGE = libdemo
# A package patches one library file.  Where one fix spans two libraries
# (libssl and libcrypto), each gets its package, and the two require each
# other at the same version, so that they are installed, upgraded and
# erased together: REQUIRES = other-livepatches = $(VERSION).  Optional.
REQUIRES =
# Where `make download` finds every released build of TARGET_PACKAGE
# (file://, http:// or https:// repository; ARCH and RPM_KEY optional).
REPO =
