/*
 * Ground truth for tests/ioctl_numbers.rs: the ioctl request numbers exactly
 * as the Linux uapi headers define them for the architecture of the compiler
 * that reads this file.
 *
 * Nothing is run: scripts/ioctl-truth.sh compiles this file to assembly only
 * (`CC -S`), so any cross compiler with the kernel headers will do, no C
 * library or emulator needed. Each EMIT() puts one marker string into the
 * assembly with the request number as an immediate operand, evaluated by that
 * compiler from that architecture's <asm/ioctl.h> (MIPS encodes the direction
 * differently) and struct sizes (RTC_IRQP_READ's unsigned long differs
 * between 32 and 64 bits).
 *
 * List every ioctl of the headers the daemon mirrors in src/uapi.rs, not only
 * those it uses today: a request added to stability::uapi::IOCTLS that is
 * missing here fails the test with "absent from the truth".
 */
#include <linux/ioctl.h>
#include <linux/rtc.h>
#include <linux/watchdog.h>

#define EMIT(name) \
	__asm__ volatile("\n\t.ascii \"@ioctl " #name " %0\"" : : "i"((unsigned int)(name)))

void stability_ioctl_truth(void);

void stability_ioctl_truth(void)
{
	/* linux/watchdog.h */
	EMIT(WDIOC_GETSUPPORT);
	EMIT(WDIOC_GETSTATUS);
	EMIT(WDIOC_GETBOOTSTATUS);
	EMIT(WDIOC_GETTEMP);
	EMIT(WDIOC_SETOPTIONS);
	EMIT(WDIOC_KEEPALIVE);
	EMIT(WDIOC_SETTIMEOUT);
	EMIT(WDIOC_GETTIMEOUT);
	EMIT(WDIOC_SETPRETIMEOUT);
	EMIT(WDIOC_GETPRETIMEOUT);
	EMIT(WDIOC_GETTIMELEFT);

	/* linux/rtc.h */
	EMIT(RTC_AIE_ON);
	EMIT(RTC_AIE_OFF);
	EMIT(RTC_UIE_ON);
	EMIT(RTC_UIE_OFF);
	EMIT(RTC_PIE_ON);
	EMIT(RTC_PIE_OFF);
	EMIT(RTC_WIE_ON);
	EMIT(RTC_WIE_OFF);
	EMIT(RTC_ALM_SET);
	EMIT(RTC_ALM_READ);
	EMIT(RTC_RD_TIME);
	EMIT(RTC_SET_TIME);
	EMIT(RTC_IRQP_READ);
	EMIT(RTC_IRQP_SET);
	EMIT(RTC_EPOCH_READ);
	EMIT(RTC_EPOCH_SET);
	EMIT(RTC_WKALM_SET);
	EMIT(RTC_WKALM_RD);
	EMIT(RTC_PLL_GET);
	EMIT(RTC_PLL_SET);
	EMIT(RTC_VL_READ);
	EMIT(RTC_VL_CLR);
}
