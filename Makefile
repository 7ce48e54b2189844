# blk-interposer: one entry point for everything.  `make help` lists the
# targets.  Everything is built under build/ (make distclean removes it).
#
#   build/linux/             the patched 6.12 source tree (kernel/prepare-tree)
#   build/kernel-version     its exact version
#   build/kernel-test/       test kernel (KASAN, lockdep), out of tree
#   build/kernel-bench/      benchmark kernel, out of tree
#   build/libbpf/            libbpf from the tree: LIBBPF_INC, LIBBPF_A
#   build/bin/bpftool        bpftool from the tree
#   build/vmlinux.h          BTF of the test kernel as C (make vmlinux-h)
#   build/lib/, build/bin/   libinterpose, interposectl (sub-makefiles)
#   build/vm/                VM runs: run.*/console.log, last-console.log
#   build/man/               man pages from docs/*.rst (make man)
#   build/install-test/      the tree tests/install/run installs and uses

SHELL := /bin/bash
.DEFAULT_GOAL := all
# Steps run one after another; each one parallelises inside (-j$(NPROC)).
.NOTPARALLEL:

REPO      := $(CURDIR)
BUILD     := $(REPO)/build
LINUX     := $(BUILD)/linux
NPROC     := $(shell nproc)
CLANG     := clang-19
LLVM_STRIP := llvm-strip-19

LIBBPF_DIR := $(BUILD)/libbpf
LIBBPF_INC := $(LIBBPF_DIR)/include
LIBBPF_A   := $(LIBBPF_DIR)/libbpf.a
BPFTOOL    := $(BUILD)/bin/bpftool
VMLINUX_H  := $(BUILD)/vmlinux.h

# What the sub-makefiles (bpf/, libinterpose/, cmd/interposectl/, tests/)
# get on their command line.
SUBMAKE_VARS := BUILD=$(BUILD) LIBBPF_INC=$(LIBBPF_INC) LIBBPF_A=$(LIBBPF_A) \
	BPFTOOL=$(BPFTOOL) VMLINUX_H=$(VMLINUX_H) CLANG=$(CLANG)

# Environment of the helper scripts under kernel/.
KENV := REPO=$(REPO) BUILD=$(BUILD)

DEB_PACKAGES := linux-source-6.12 build-essential bc bison flex libelf-dev \
	libssl-dev dwarves ccache clang-19 llvm-19 lld-19 fio \
	libcap-dev libjson-c-dev libcmocka-dev pkg-config jq gdisk dmsetup \
	util-linux mount procps xz-utils cpio python3 zlib1g-dev libzstd-dev \
	kmod rsync e2fsprogs patch gnuplot-nox python3-docutils python3-ply python3-git man-db \
	bash-completion systemd udev debhelper lintian busybox-static dkms dh-dkms

.PHONY: all help deps prepare kernel kernel-test kernel-bench kernel-bench-distro kernel-config \
	tools libbpf bpftool vmlinux-h bpf lib cli unit test-tools check demo module \
	bench stress checkpatch clean kernel-clean distclean man install install-test deb \
	patches patches-check

all: kernel tools lib cli

help:
	@echo 'make deps          install the Debian packages the project needs (when missing)'
	@echo 'make kernel        = kernel-test'
	@echo 'make kernel-test   patched kernel with KASAN/lockdep: build/kernel-test/'
	@echo 'make kernel-bench  patched kernel without debug options: build/kernel-bench/'
	@echo 'make kernel-bench-distro  the same configured as Debian'\''s kernel (make bench)'
	@echo 'make prepare       only assemble the patched tree build/linux/'
	@echo 'make tools         libbpf ($(LIBBPF_A), $(LIBBPF_INC)) and $(BPFTOOL)'
	@echo 'make vmlinux-h     $(VMLINUX_H) from the test kernel'
	@echo 'make bpf lib cli   bpf/, libinterpose/, cmd/interposectl/'
	@echo 'make unit          host unit tests (tests/unit)'
	@echo 'make man           build/man/interposectl.8, libinterpose.3, interposetab.5 from docs/*.rst'
	@echo 'make install       PREFIX=$(PREFIX) DESTDIR=: library, headers, .pc, CLI, BPF objects, man pages'
	@echo 'make install-test  tests/install/run: install into build/install-test, build the example'
	@echo 'make deb           Debian packages in build/deb/ (debhelper), checked by lintian'
	@echo 'make check         everything, unit tests on the host, tests/run in the VM'
	@echo 'make demo          tests/demo.sh in the VM (KERNEL=debian: on the stock kernel, with the module)'
	@echo 'make module        blk_interposer.ko for Debian'"'"'s stock kernel (build/module/src, the DKMS tree)'
	@echo 'make bench         tests/bench/run in the VM (bench kernel, -icount)'
	@echo 'make stress        long reliability runs in the VM (hours; STRESS_* counts)'
	@echo 'make checkpatch    scripts/checkpatch.pl --strict on kernel files and patches'
	@echo 'make patches       the upstream series in build/patches/ (kernel/series, git format-patch)'
	@echo 'make patches-check git am it on a clean tree, checkpatch, kernel-doc, build and boot each patch'
	@echo 'make clean         project outputs (keeps the kernel tree and builds)'
	@echo 'make kernel-clean  the kernel builds; make distclean: all of build/'
	@echo 'kernel/vm-run --help   run a command in the VM'

# --- packages -----------------------------------------------------------
deps:
	@missing=$$(comm -23 <(printf '%s\n' $(DEB_PACKAGES) | LC_ALL=C sort -u) \
		<(dpkg-query -W -f='$${Package} $${db:Status-Status}\n' $(DEB_PACKAGES) 2>/dev/null | \
		  awk '$$2 == "installed" {print $$1}' | LC_ALL=C sort -u)); \
	if [ -z "$$missing" ]; then echo "deps: all packages installed"; exit 0; fi; \
	echo "deps: installing" $$missing; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y --no-install-recommends $$missing || \
		{ apt-get update && apt-get install -y --no-install-recommends $$missing; }
	@kernel/deps-qemu

# --- kernel ---------------------------------------------------------------
prepare:
	@$(KENV) kernel/prepare-tree

kernel: kernel-test

kernel-test kernel-bench kernel-bench-distro: kernel-%: prepare
	@$(KENV) kernel/build-kernel $*

# Only (re)generate and check the .config of both kernels.
kernel-config: prepare
	@$(KENV) CONFIG_ONLY=1 kernel/build-kernel test
	@$(KENV) CONFIG_ONLY=1 kernel/build-kernel bench
	@$(KENV) CONFIG_ONLY=1 kernel/build-kernel bench-distro

# --- libbpf and bpftool from the tree -----------------------------------
tools: libbpf bpftool

libbpf: prepare
	@mkdir -p $(LIBBPF_DIR)
	$(MAKE) -s -C $(LINUX)/tools/lib/bpf OUTPUT=$(LIBBPF_DIR)/ \
		DESTDIR=$(LIBBPF_DIR) prefix= -j$(NPROC) $(LIBBPF_A) install_headers
	@echo "libbpf $$(awk '/define LIBBPF_M(AJOR|INOR)_VERSION/ {v = v $$3 "."} END {sub(/\.$$/, "", v); print v}' \
		$(LIBBPF_INC)/bpf/libbpf_version.h): LIBBPF_INC=$(LIBBPF_INC) LIBBPF_A=$(LIBBPF_A)"

# Skeletons (bpftool prog show PIDs) are built against the host's BTF when
# it has one; they are CO-RE and not needed for struct_ops.
bpftool: prepare
	@mkdir -p $(BUILD)/bpftool $(BUILD)/bin
	$(MAKE) -s -C $(LINUX)/tools/bpf/bpftool OUTPUT=$(BUILD)/bpftool/ \
		CLANG=$(CLANG) LLVM_STRIP=$(LLVM_STRIP) \
		VMLINUX_BTF=$(wildcard /sys/kernel/btf/vmlinux) -j$(NPROC)
	@install -C -m 755 $(BUILD)/bpftool/bpftool $(BPFTOOL)
	@$(BPFTOOL) version | head -1

vmlinux-h: kernel-test bpftool
	@if [ ! -s $(VMLINUX_H) ] || [ $(BUILD)/kernel-test/vmlinux -nt $(VMLINUX_H) ]; then \
		$(BPFTOOL) btf dump file $(BUILD)/kernel-test/vmlinux format c >$(VMLINUX_H).tmp && \
		if cmp -s $(VMLINUX_H).tmp $(VMLINUX_H); then rm $(VMLINUX_H).tmp; touch $(VMLINUX_H); \
		else mv $(VMLINUX_H).tmp $(VMLINUX_H); fi; \
	fi
	@echo "vmlinux-h: $(VMLINUX_H) ($$(wc -l <$(VMLINUX_H)) lines)"

# --- userspace: sub-makefiles that others own ----------------------------
define submake
	@test -f $(1)/Makefile || { echo "make: $(1)/Makefile does not exist (yet): cannot build $@" >&2; exit 1; }
	$(MAKE) -C $(1) $(SUBMAKE_VARS) $(2)
endef

bpf: vmlinux-h tools
	$(call submake,bpf)

lib: tools
	$(call submake,libinterpose)

# trace and hist carry the ready programs trace and latency (skeletons)
cli: lib bpf
	$(call submake,cmd/interposectl)

unit: lib bpf
	$(call submake,tests/unit,run)

test-tools: lib
	$(call submake,tests/tools)

# --- man pages and install ----------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=] installs, below $(DESTDIR)$(PREFIX):
#   include/interpose/libinterpose.h, event.h   the library's API
#   include/linux/blk-interposer.h              the kernel's ioctl UAPI
#   include/interpose/interpose.bpf.h           for writing programs
#   lib/libinterpose.so.X.Y.Z, .so.0, .so, lib/libinterpose.a,
#   lib/interpose/libbpf.a                      libbpf >= 1.5 for the static
#                                               library (libinterpose/Makefile)
#   lib/pkgconfig/libinterpose.pc
#   sbin/interposectl, share/bash-completion/completions/interposectl
#   lib/interpose/bpf/NAME.bpf.o                the ready programs of bpf/
#   share/man/man8/interposectl.8, share/man/man3/libinterpose.3
# The BPF objects are under lib/, not share/: they are built for this
# architecture (byte order, __TARGET_ARCH) against this kernel's BTF.
# Installing needs no kernel build: the programs of bpf/ are (re)compiled
# when build/vmlinux.h exists (make vmlinux-h makes it from the test
# kernel); without it the objects already in build/bpf are installed, and
# none if there are none (a warning says so).
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INSTALL_VARS = PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) DESTDIR=$(DESTDIR)
BPF_OBJDIR ?= $(LIBDIR)/interpose/bpf
MANDIR ?= $(PREFIX)/share/man
RST2MAN ?= rst2man
MAN_PAGES := $(BUILD)/man/interposectl.8 $(BUILD)/man/libinterpose.3 \
	$(BUILD)/man/interposetab.5

man: $(MAN_PAGES)

# rst2man stops on any docutils warning; groff must format the result
# without a warning either.
define rst2man
	@mkdir -p $(@D)
	@command -v $(RST2MAN) >/dev/null || \
		{ echo "man: $(RST2MAN) not found (make deps: python3-docutils)" >&2; exit 1; }
	$(RST2MAN) --halt=warning $< $@.tmp
	@w=$$(groff -t -man -ww -z $@.tmp 2>&1); \
	if [ -n "$$w" ]; then echo "$$w" >&2; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@
endef
$(BUILD)/man/%.8: docs/%.rst
	$(rst2man)
$(BUILD)/man/%.3: docs/%.rst
	$(rst2man)
$(BUILD)/man/%.5: docs/%.rst
	$(rst2man)

install: lib cli man
	$(call submake,libinterpose,install $(INSTALL_VARS))
	$(call submake,cmd/interposectl,install $(INSTALL_VARS))
	@if [ -s $(VMLINUX_H) ]; then $(MAKE) -s -C bpf $(SUBMAKE_VARS); \
	else echo "install: warning: no $(VMLINUX_H) (make vmlinux-h): installing the BPF objects already built" >&2; fi
	install -d $(DESTDIR)$(PREFIX)/include/interpose $(DESTDIR)$(BPF_OBJDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5
	install -m 644 bpf/include/interpose.bpf.h $(DESTDIR)$(PREFIX)/include/interpose/
	@install -d $(DESTDIR)$(PREFIX)/include/interpose/skel; n=0; \
	for skel in $(BUILD)/bpf/*.skel.h; do [ -e "$$skel" ] || continue; \
		install -m 644 "$$skel" $(DESTDIR)$(PREFIX)/include/interpose/skel/ && n=$$((n + 1)); \
	done; echo "install: $$n BPF skeletons in $(DESTDIR)$(PREFIX)/include/interpose/skel"
	@n=0; for src in bpf/*.bpf.c; do [ -e "$$src" ] || continue; \
		obj=$(BUILD)/bpf/$$(basename $$src .c).o; \
		[ -f "$$obj" ] || { echo "install: warning: $$obj not built" >&2; continue; }; \
		install -m 644 "$$obj" $(DESTDIR)$(BPF_OBJDIR)/ && n=$$((n + 1)); \
	done; echo "install: $$n BPF objects in $(DESTDIR)$(BPF_OBJDIR)"
	install -m 644 $(BUILD)/man/interposectl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 $(BUILD)/man/libinterpose.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 $(BUILD)/man/interposetab.5 $(DESTDIR)$(MANDIR)/man5/

# make install into build/install-test, then build and run the example of
# docs/examples against it (tests/install/run; tests/vm/installed-example.sh
# runs the result in the VM).  kernel/run-check runs it as part of make check.
install-test: lib cli man
	@$(KENV) tests/install/run

# --- Debian packages --------------------------------------------------------
# dpkg-buildpackage (debhelper, debian/) on a copy of the checkout in
# build/deb/src, with the project's build/ as it is (IP_BUILD): the
# packages land in build/deb/, then lintian checks them (errors fail).
# tests/deb/run (part of make check) installs them into a throwaway root.
DEB_DIR := $(BUILD)/deb
deb: lib cli man bpf
	@command -v dh >/dev/null && command -v dpkg-buildpackage >/dev/null || \
		{ echo "deb: needs debhelper and dpkg-dev (make deps)" >&2; exit 1; }
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	rsync -a --exclude=/build --exclude=/.git ./ $(DEB_DIR)/src/
	cd $(DEB_DIR)/src && IP_BUILD=$(BUILD) dpkg-buildpackage -b -us -uc \
		>$(DEB_DIR)/build.log 2>&1 || { tail -30 $(DEB_DIR)/build.log; exit 1; }
	@ls -1 $(DEB_DIR)/*.deb
	@if command -v lintian >/dev/null; then \
		lintian --fail-on error --tag-display-limit 0 $(DEB_DIR)/*.deb \
			| tee $(DEB_DIR)/lintian.log; rc=$${PIPESTATUS[0]}; \
		echo "lintian: $$(grep -c '^E:' $(DEB_DIR)/lintian.log) errors, $$(grep -c '^W:' $(DEB_DIR)/lintian.log) warnings"; \
		exit $$rc; \
	else echo "deb: lintian not installed: packages not checked" >&2; fi

# --- tests in the VM ------------------------------------------------------
check:
	$(MAKE) deps
	$(MAKE) kernel-test module tools lib cli
	@if [ -d bpf ]; then $(MAKE) bpf; fi
	@if [ -f tests/tools/Makefile ]; then $(MAKE) test-tools; fi
	@$(KENV) kernel/run-check

# make demo KERNEL=debian: on Debian's stock kernel with the module
KERNEL ?= patched
demo:
	$(MAKE) deps
	$(MAKE) $(if $(filter debian,$(KERNEL)),module,kernel-test) tools cli bpf
	@if [ -f tests/tools/Makefile ]; then $(MAKE) test-tools; fi
	kernel/vm-run --kernel $(KERNEL) -- tests/demo.sh

# The interposer as a module for Debian's stock kernel (kernel/build-module):
# build/module/src/blk_interposer.ko, and the DKMS source tree it is built in
module:
	@$(KENV) kernel/build-module

# Benchmarks (tests/bench/run), never part of check.  Results land in
# build/bench/: results.txt, results.json, results.png.  A plain TCG run
# instead of -icount: make bench BENCH_VM="--smp 1".
BENCH_VM ?= --icount
BENCH_VMRUN = kernel/vm-run --config bench $(BENCH_VM) --timeout 3600
# The module's rows (issue 14): blk_interposer.ko on Debian's stock kernel,
# the same -icount method, side by side in results.json (backend
# "module") and results.txt; BENCH_MODULE=0 leaves them out
BENCH_MODULE ?= 1
BENCH_MODULE_CONFIGS ?= raw other passthrough redirect plain
BENCH_MODULE_VMRUN = kernel/vm-run --kernel debian --icount --timeout 3600
# The same rows on the patched kernel configured as Debian's is where that
# changes what a bio costs (kernel/configs/bench-distro.config): the
# module compared on the same terms; BENCH_DISTRO=0 leaves them out
BENCH_DISTRO ?= 1
BENCH_DISTRO_VMRUN = kernel/vm-run --config bench-distro --icount --timeout 3600
bench:
	$(MAKE) kernel-bench tools cli
	@if [ -s $(VMLINUX_H) ] && [ -f bpf/Makefile ]; then \
		$(MAKE) -C bpf $(SUBMAKE_VARS); else $(MAKE) bpf; fi
	@mkdir -p $(BUILD)/bench
	@echo 'make bench: $(BENCH_VMRUN) -- tests/bench/run' >$(BUILD)/bench/command
	@echo "$$(git rev-parse --short HEAD 2>/dev/null)$$(git diff --quiet HEAD -- block include kernel 2>/dev/null || echo ' with uncommitted kernel changes')" \
		>$(BUILD)/bench/source
	$(BENCH_VMRUN) -- tests/bench/run
	@if [ "$(BENCH_MODULE)" = 1 ]; then \
		$(MAKE) module && \
		echo 'make bench: $(BENCH_MODULE_VMRUN) -- ...' >$(BUILD)/bench/module-command && \
		$(BENCH_MODULE_VMRUN) -- "OUT=$(BUILD)/bench/module CONFIGS='$(BENCH_MODULE_CONFIGS)' \
			LAT_CYCLES=0 CLI_CYCLES=0 $(if $(ROUNDS),ROUNDS=$(ROUNDS)) tests/bench/run"; \
	fi
	@if [ "$(BENCH_MODULE)" = 1 ] && [ "$(BENCH_DISTRO)" = 1 ]; then \
		$(MAKE) kernel-bench-distro && \
		$(BENCH_DISTRO_VMRUN) -- "OUT=$(BUILD)/bench/distro CONFIGS='$(BENCH_MODULE_CONFIGS)' \
			LAT_CYCLES=0 CLI_CYCLES=0 $(if $(ROUNDS),ROUNDS=$(ROUNDS)) tests/bench/run"; \
	fi
	@if [ "$(BENCH_MODULE)" = 1 ]; then \
		python3 tests/bench/report $(BUILD)/bench $(BUILD)/bench/module \
			$$([ "$(BENCH_DISTRO)" = 1 ] && echo $(BUILD)/bench/distro) | \
			sed -n '/^The module on the stock kernel/,/^Programs:/p'; \
	fi
	tests/bench/plot $(BUILD)/bench

# Long reliability runs (issue 6), never part of check: the check's load
# tests with big counts, in the test kernel's VM (one vCPU), each test with
# the whole timeout.  Output also in build/stress/stress.log.  Counts:
#   STRESS_CYCLES    attach/detach cycles under fio --verify (10000)
#   STRESS_REPLACES  program replaces under fio --verify (1000; bpf-lifetime
#                    does twice as many)
#   STRESS_FUZZ      ioctl fuzzer calls (100000)
#   STRESS_REMOVALS  runs of removal.sh (20)
STRESS_CYCLES ?= 10000
STRESS_REPLACES ?= 1000
STRESS_FUZZ ?= 100000
STRESS_REMOVALS ?= 20
STRESS_TIMEOUT ?= 172800
STRESS_TESTS = tests/vm/attach-detach-cycles.sh tests/vm/replace-under-load.sh \
	tests/vm/bpf-lifetime.sh $(foreach i,$(shell seq $(STRESS_REMOVALS)),tests/vm/removal.sh) \
	tests/vm/ioctl-fuzz.sh
stress:
	$(MAKE) kernel-test tools cli
	@if [ -d bpf ]; then $(MAKE) bpf; fi
	@if [ -f tests/tools/Makefile ]; then $(MAKE) test-tools; fi
	@mkdir -p $(BUILD)/stress
	kernel/vm-run --smp 1 --timeout $(STRESS_TIMEOUT) -- env \
		CYCLES=$(STRESS_CYCLES) REPLACE_CYCLES=$(STRESS_REPLACES) \
		FUZZ_CALLS=$(STRESS_FUZZ) FUZZ_SEED=$$RANDOM FIO_RUNTIME=$(STRESS_TIMEOUT) \
		TEST_TIMEOUT=$(STRESS_TIMEOUT) tests/run $(STRESS_TESTS) | tee $(BUILD)/stress/stress.log; \
	exit $${PIPESTATUS[0]}

# --- style --------------------------------------------------------------
KERNEL_FILES = $(shell find block include/linux include/uapi/linux drivers module \
	tools/testing/selftests/bpf \
	-type f -name '*.[ch]' 2>/dev/null | LC_ALL=C sort)

# the files, and the series as make patches generates it (signed off)
checkpatch: prepare patches
	@export PATH=/usr/bin:$$PATH; rc=0; \
	if [ -n "$(KERNEL_FILES)" ]; then \
		$(LINUX)/scripts/checkpatch.pl --strict --no-tree --show-types --terse \
			-f $(KERNEL_FILES) || rc=1; fi; \
	for p in $(BUILD)/patches/0*.patch; do \
		case $$p in */0000-cover-letter.patch) continue;; esac; \
		[ -e "$$p" ] || continue; \
		$(LINUX)/scripts/checkpatch.pl --strict --no-tree --show-types --terse - <"$$p" | \
			sed "s|^-:|$$p:|"; [ $${PIPESTATUS[0]} = 0 ] || rc=1; \
	done; \
	[ $$rc = 0 ] && echo "checkpatch: clean"; exit $$rc

# --- the upstream series ------------------------------------------------------
patches:
	kernel/make-patches

# prepare: the tree the series must equal; kernel-bench: its configuration
patches-check: patches prepare kernel-bench
	kernel/patches-check

# --- cleaning ---------------------------------------------------------------
clean:
	@for d in bpf libinterpose cmd/interposectl tests/unit tests/tools; do \
		if [ -f $$d/Makefile ]; then $(MAKE) -C $$d $(SUBMAKE_VARS) clean || exit 1; fi; \
	done
	rm -rf $(BUILD)/libbpf $(BUILD)/bpftool $(BUILD)/bin $(BUILD)/lib $(BUILD)/vm \
		$(BUILD)/check $(BUILD)/tests $(VMLINUX_H) $(BUILD)/man $(BUILD)/install-test

kernel-clean:
	rm -rf $(BUILD)/kernel-test $(BUILD)/kernel-bench $(BUILD)/kernel-bench-distro

distclean:
	rm -rf $(BUILD)
