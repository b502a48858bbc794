/* jump_unmapped: calls a function pointer to the unmapped address 0xdead0000:
 * the instruction fetch faults and the process dies by SIGSEGV. */
#include "guest.h"
#include <stdint.h>

int main(void)
{
	void (*volatile fn)(void) = (void (*)(void))(uintptr_t)0xdead0000u;
	say("calling 0xdead0000");
	fn();
	say("survived the call");
	return 1;
}
