# What the livepatch package is: fill in for your library.
NAME = demo-livepatches
# The livepatch release: every new version is cumulative.
VERSION = 1
RELEASE = 1
LICENSE = MIT
# The library file the patches apply to, and the package shipping it.
TARGET = libdemo.so.1
TARGET_PACKAGE = libdemo
# Where `make download` finds every released build of TARGET_PACKAGE
# (file://, http:// or https:// repository; ARCH and RPM_KEY optional).
REPO =
