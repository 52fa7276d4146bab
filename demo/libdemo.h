/*
 * libdemo.h - the one definition of the layout of the demo's libraries.
 *
 * Not a library source itself (the Makefile builds only demo/lib*.c).
 * Each library exports one function, int demo_version(void), which
 * returns the library's version.  The demo needs its code at known file
 * offsets, so it is written in assembly, in two "slots" of 64 KiB, each
 * aligned to 64 KiB (GNU ld puts them at file offsets 0x20000, 0x30000):
 *
 *		libdemo_v1.so			libdemo_v2_moved.so
 *	slot 1	traps				demo_version(), then traps
 *	slot 2	demo_version(), then traps	traps
 *
 * Every byte of a slot that is not demo_version()'s instructions is an
 * undefined instruction (ud2 on x86-64, udf on AArch64): code that jumps
 * to v1's demo_version() in v2_moved's bytes dies of SIGILL, every time.
 * Both files are linked with -s (no symbol table or debug info, which
 * would carry the source file's name) so that they have the same size
 * to the byte.  libdemo_v2.c, the "smaller file", does not use this
 * header: its 14 KiB or so end long before slot 2.  run.sh checks all of
 * this (sizes, offsets, the bytes at the old address) before relying on
 * it.
 */
#ifndef LIBDEMO_H
#define LIBDEMO_H

int demo_version(void);

#define DEMO_SLOT_SIZE "0x10000"

#if defined(__x86_64__)
#define DEMO_RET(v)   "mov $" #v ", %eax\n\tret\n\t"
#define DEMO_TRAPS(n) ".fill (" n ") / 2, 2, 0x0b0f\n\t" /* ud2 */
#define DEMO_INSN_PAD "ud2\n\t" /* 6 + 2: keep the traps aligned */
#elif defined(__aarch64__)
#define DEMO_RET(v)   "mov w0, #" #v "\n\tret\n\t"
#define DEMO_TRAPS(n) ".fill (" n ") / 4, 4, 0\n\t" /* udf #0 */
#define DEMO_INSN_PAD ""
#else
#error "the demo's libraries are written for x86-64 and AArch64"
#endif

/* A slot that holds only traps. */
/* clang-format off */
#define DEMO_SLOT_TRAPS							\
	".balign " DEMO_SLOT_SIZE "\n\t"				\
	DEMO_TRAPS(DEMO_SLOT_SIZE)

/* A slot that starts with demo_version() returning v, then traps. */
#define DEMO_SLOT_VERSION(v)						\
	".balign " DEMO_SLOT_SIZE "\n\t"				\
	".globl demo_version\n\t"					\
	".type demo_version, %function\n"				\
	"demo_version:\n\t"						\
	DEMO_RET(v)							\
	".size demo_version, . - demo_version\n\t"			\
	DEMO_INSN_PAD							\
	DEMO_TRAPS(DEMO_SLOT_SIZE " - 8")

#define DEMO_TEXT(slot1, slot2)						\
	__asm__(".text\n\t" slot1 slot2 ".previous\n")
/* clang-format on */

#endif /* LIBDEMO_H */
