/*
 * libvictim.h - the body shared by libvictim_v1.c and libvictim_v2.c.
 *
 * Not a library source itself (the Makefile builds only lib*.c), just
 * the one definition of the layout both versions must have.
 */
#ifndef LIBVICTIM_H
#define LIBVICTIM_H

int victim_version(void);
int victim_padding(int);

/*
 * victim_padding() fills 64 KiB of .text ahead of victim_version(), which
 * is aligned to 64 KiB itself, so it is at least 64 KiB into the file.
 * The padding is real code (a run of no-ops), so no linker drops it.
 */
/* clang-format off */
#define VICTIM_LIBRARY(v)						\
__attribute__((aligned(65536), noinline)) int				\
victim_padding(int x)							\
{									\
	__asm__ volatile(".fill 65536, 1, 0x90");			\
	return x + (v);							\
}									\
									\
__attribute__((aligned(65536), noinline)) int				\
victim_version(void)							\
{									\
	return (v);							\
}
/* clang-format on */

#endif /* LIBVICTIM_H */
