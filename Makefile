# SPDX-License-Identifier: GPL-2.0
#
# pshare top-level Makefile.
#
#   make                 build pshare.ko against KDIR and the userspace tools
#   make check           run the whole test suite in QEMU (stock + debug kernel)
#   make demo            boot a KVM guest on pshare memory in a throwaway VM
#   make bench           print the benchmark figures
#   make experiments     the paper's reclaim experiments (build/experiments/)
#   make vm CMD='...'    run one command in a fresh test VM (KERNEL=debug)
#   make style           checkpatch and sparse over our code (zero findings)
#   make install         install the module, psharectl and the uapi header

KDIR ?= /lib/modules/$(shell uname -r)/build
KERNEL ?= stock
PREFIX ?= /usr/local

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

demo:
	bash scripts/demo.sh

bench:
	bash scripts/bench.sh

experiments:
	bash scripts/experiments.sh

style:
	bash scripts/style.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	-$(MAKE) -C userspace-tools clean
	-$(MAKE) -C selftests clean
	rm -rf build

.PHONY: all module tools selftests deps check vm demo bench experiments style clean
