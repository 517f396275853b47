# SPDX-License-Identifier: GPL-2.0
#
# pshare top-level Makefile.
#
#   make                 build pshare.ko against KDIR and the userspace tools
#   make check           run the whole test suite in QEMU (stock + debug kernel)
#   make demo            boot a KVM guest on pshare memory in a throwaway VM
#   make bench           print the benchmark figures
#   make experiments     the paper's reclaim experiments (build/experiments/)
#   make vm CMD='...'    run one command in a fresh test VM (KERNEL=stock,
#                        lts, newest or debug)
#   make style           checkpatch and sparse over our code (zero findings)
#   make fuzz            a long fuzzer run in a test VM (FUZZ_OPS, FUZZ_SEED,
#                        FUZZ_SECONDS, KERNEL=debug)
#   make soak            the soak test for SOAK_SECONDS in a test VM
#   make install         install the module (KVER's extra/), psharectl and the
#                        uapi header; make uninstall removes them
#   make dkms-install    the same, the module through DKMS (dkms.conf);
#                        make dkms-uninstall removes it

# The kernel to build and install for: the running one unless given.
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
KERNEL ?= stock
PREFIX ?= /usr/local
DESTDIR ?=
# The version DKMS knows the module by: dkms.conf's.
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
# The tested kernel range, as a regular expression over the release:
# dkms.conf's, which module/compat.h's #error matches.
KRANGE := $(shell sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"$$/\1/p' dkms.conf)
DKMS_SRC := $(DESTDIR)/usr/src/pshare-$(VERSION)

all: module tools

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tools:
	$(MAKE) -C userspace-tools

selftests:
	$(MAKE) -C selftests

deps:
	bash scripts/deps.sh

check:
	bash scripts/check.sh

# CMD goes through the environment unexpanded, so any shell text works:
# make vm CMD='cd /tmp && echo "$HOME"; false'  (VMFLAGS: e.g. --no-module).
vm:
	CMD='$(subst ','\'',$(value CMD))' bash scripts/vm.sh --kernel $(KERNEL) $(VMFLAGS)

# Longer runs than `make check` makes of the fuzzer and the soak test.
FUZZ_OPS ?= 1000000
FUZZ_SEED ?=
FUZZ_SECONDS ?= 3600
SOAK_SECONDS ?= 600

fuzz: selftests
	CMD='PSHARE_FUZZ_OPS=$(FUZZ_OPS) PSHARE_FUZZ_SEED=$(FUZZ_SEED) PSHARE_FUZZ_SECONDS=$(FUZZ_SECONDS) PSHARE_SELFTEST_TIMEOUT=$(shell echo $$(($(FUZZ_SECONDS) + 900))) bash selftests/run.sh pshare_fuzz' \
		bash scripts/vm.sh --kernel $(KERNEL) --timeout $(shell echo $$(($(FUZZ_SECONDS) + 1800)))

soak: selftests
	CMD='PSHARE_SOAK_SECONDS=$(SOAK_SECONDS) PSHARE_SELFTEST_TIMEOUT=$(shell echo $$(($(SOAK_SECONDS) + 900))) bash selftests/run.sh pshare_stress' \
		bash scripts/vm.sh --kernel $(KERNEL) --timeout $(shell echo $$(($(SOAK_SECONDS) + 1800)))

demo:
	bash scripts/demo.sh

# Boot the test VM N times under nested-guest load and count the panics.
N ?= 20
kvm-repeat:
	bash scripts/kvm-repeat.sh $(N)

bench:
	bash scripts/bench.sh

experiments:
	bash scripts/experiments.sh

style:
	bash scripts/style.sh

# Debian's headers report the upstream version as their kernelrelease, so
# the install directory is named by KVER explicitly. depmod runs only for
# a real install (packagers staging into DESTDIR run it themselves).
install: install-check install-module install-tools

# Refuse a kernel outside the tested range before anything is built or
# copied (the build would stop at compat.h's #error; this says why first).
install-check:
	@echo '$(KVER)' | grep -Eq '$(KRANGE)' || { \
		echo "pshare: not installing for Linux $(KVER): outside the tested range (dkms.conf: BUILD_EXCLUSIVE_KERNEL=\"$(KRANGE)\"; see README.md)" >&2; \
		exit 1; }

install-module: install-check module
	$(MAKE) -C $(KDIR) M=$(CURDIR) KERNELRELEASE=$(KVER) \
		INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=extra modules_install
	$(if $(DESTDIR),,depmod -a $(KVER))

install-tools: tools
	$(MAKE) -C userspace-tools install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	install -D -m 0644 uapi/linux/pshare.h $(DESTDIR)$(PREFIX)/include/linux/pshare.h

uninstall: uninstall-tools
	rm -f $(DESTDIR)/lib/modules/$(KVER)/extra/pshare.ko* \
		$(DESTDIR)/lib/modules/$(KVER)/extra/pshare_kunit.ko*
	$(if $(DESTDIR),,depmod -a $(KVER))

uninstall-tools:
	rm -f $(DESTDIR)$(PREFIX)/sbin/psharectl $(DESTDIR)$(PREFIX)/include/linux/pshare.h

# The source tree DKMS builds from: what Kbuild needs, and dkms.conf.
dkms-src:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -R Kbuild dkms.conf module uapi $(DKMS_SRC)/

# Again after an update: the same version is first removed from DKMS.
dkms-install: install-check install-tools
	-dkms remove -m pshare -v $(VERSION) --all >/dev/null 2>&1
	$(MAKE) dkms-src
	dkms add -m pshare -v $(VERSION)
	dkms install -m pshare -v $(VERSION) -k $(KVER)

dkms-uninstall: uninstall-tools
	-dkms remove -m pshare -v $(VERSION) --all
	rm -rf $(DKMS_SRC)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	-$(MAKE) -C userspace-tools clean
	-$(MAKE) -C selftests clean
	rm -rf build

.PHONY: all module tools selftests deps check vm fuzz soak demo kvm-repeat bench experiments style clean \
	install install-check install-module install-tools uninstall uninstall-tools \
	dkms-src dkms-install dkms-uninstall
