/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /dev/pshare, the ioctl interface (ioctl.c), set up and torn down by
 * main.c.
 */
#ifndef _PSHARE_IOCTL_H
#define _PSHARE_IOCTL_H

int pshare_dev_init(void);
void pshare_dev_exit(void);

#endif /* _PSHARE_IOCTL_H */
