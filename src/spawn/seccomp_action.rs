//! What a seccomp filter does to one system call, found by running its classic BPF program on
//! the call's number and architecture, in the parent, before any process exists.
//!
//! Only used to learn whether the filter can kill the child at execve (see `exec_marker`):
//! when it cannot, the parent need not check how the child ended.

use libc::{
    BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_DIV, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT,
    BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM, BPF_MISC, BPF_MOD,
    BPF_MUL, BPF_NEG, BPF_OR, BPF_RET, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W,
    BPF_X, BPF_XOR, sock_filter,
};

/// The architecture the child's system calls are made for (`seccomp_data.arch`).
#[cfg(target_arch = "x86_64")]
pub(crate) const THIS_ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
pub(crate) const THIS_ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64

/// `sizeof(struct seccomp_data)`, what BPF_LEN loads.
const SECCOMP_DATA_LEN: u32 = 64;

/// The value `filter` returns for system call `nr` made on `arch`, whatever its arguments and
/// instruction pointer; None when that value depends on them (the program reads them) or the
/// program is not one the kernel would run.
pub(crate) fn action_for(filter: &[sock_filter], nr: u32, arch: u32) -> Option<u32> {
    let (mut a, mut x) = (0u32, 0u32);
    let mut scratch = [0u32; 16];
    let mut pc = 0usize;
    // Jumps only go forward, so no program runs more instructions than it has.
    for _ in 0..filter.len() {
        let insn = filter.get(pc)?;
        let k = insn.k;
        pc += 1;
        let code = u32::from(insn.code);
        let class = code & 0x07;
        let operand = if code & BPF_X != 0 { x } else { k };
        match class {
            BPF_LD | BPF_LDX => {
                // Mode and size.
                let value = match (code & 0xe0, code & 0x18) {
                    (BPF_ABS, BPF_W) if class == BPF_LD => match k {
                        0 => nr,
                        4 => arch,
                        // The instruction pointer and the arguments.
                        _ => return None,
                    },
                    (BPF_LEN, BPF_W) => SECCOMP_DATA_LEN,
                    (BPF_IMM, _) => k,
                    (BPF_MEM, _) => *scratch.get(k as usize)?,
                    _ => return None,
                };
                if class == BPF_LD {
                    a = value;
                } else {
                    x = value;
                }
            }
            BPF_ST => *scratch.get_mut(k as usize)? = a,
            BPF_STX => *scratch.get_mut(k as usize)? = x,
            BPF_ALU => {
                let b = operand;
                a = match code & 0xf0 {
                    BPF_ADD => a.wrapping_add(b),
                    BPF_SUB => a.wrapping_sub(b),
                    BPF_MUL => a.wrapping_mul(b),
                    BPF_DIV => a.checked_div(b)?,
                    BPF_MOD => a.checked_rem(b)?,
                    BPF_AND => a & b,
                    BPF_OR => a | b,
                    BPF_XOR => a ^ b,
                    BPF_LSH => a.checked_shl(b).unwrap_or(0),
                    BPF_RSH => a.checked_shr(b).unwrap_or(0),
                    BPF_NEG => a.wrapping_neg(),
                    _ => return None,
                };
            }
            BPF_JMP => {
                let offset = match code & 0xf0 {
                    BPF_JA => k as usize,
                    op => {
                        let b = operand;
                        let taken = match op {
                            BPF_JEQ => a == b,
                            BPF_JGT => a > b,
                            BPF_JGE => a >= b,
                            BPF_JSET => a & b != 0,
                            _ => return None,
                        };
                        usize::from(if taken { insn.jt } else { insn.jf })
                    }
                };
                pc = pc.checked_add(offset)?;
            }
            BPF_RET => {
                return match code & 0x18 {
                    BPF_K => Some(k),
                    BPF_A => Some(a),
                    _ => None,
                };
            }
            BPF_MISC => match code & 0xf8 {
                BPF_TAX => x = a,
                BPF_TXA => a = x,
                _ => return None,
            },
            _ => return None,
        }
    }
    None
}

/// Whether a filter's return value can end the process: the KILL actions, TRAP (whose SIGSYS
/// is at SIG_DFL in the child) and any action the kernel does not know, which it treats as
/// KILL_PROCESS. ERRNO, USER_NOTIF and TRACE (without a listener or tracer: ENOSYS), LOG and
/// ALLOW let the call go on or fail.
pub(crate) fn may_kill(action: u32) -> bool {
    !matches!(
        action & libc::SECCOMP_RET_ACTION_FULL,
        libc::SECCOMP_RET_ERRNO
            | libc::SECCOMP_RET_USER_NOTIF
            | libc::SECCOMP_RET_TRACE
            | libc::SECCOMP_RET_LOG
            | libc::SECCOMP_RET_ALLOW
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(code: u32, k: u32) -> sock_filter {
        sock_filter {
            code: code as u16,
            jt: 0,
            jf: 0,
            k,
        }
    }

    fn jump(code: u32, k: u32, jt: u8, jf: u8) -> sock_filter {
        sock_filter {
            code: code as u16,
            jt,
            jf,
            k,
        }
    }

    const EXECVE: u32 = libc::SYS_execve as u32;
    const ERRNO_EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;

    /// The usual shape: check the architecture (kill on another), then the call number.
    fn kill_other_arches_and(nr: u32, action: u32) -> Vec<sock_filter> {
        vec![
            stmt(BPF_LD | BPF_W | BPF_ABS, 4),
            jump(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
            stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_KILL_PROCESS),
            stmt(BPF_LD | BPF_W | BPF_ABS, 0),
            jump(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
            stmt(BPF_RET | BPF_K, action),
            stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
        ]
    }

    #[test]
    fn the_action_for_a_call_follows_the_program() {
        let ptrace = libc::SYS_ptrace as u32;
        let filter = kill_other_arches_and(ptrace, ERRNO_EPERM);
        assert_eq!(
            action_for(&filter, EXECVE, THIS_ARCH),
            Some(libc::SECCOMP_RET_ALLOW)
        );
        assert_eq!(action_for(&filter, ptrace, THIS_ARCH), Some(ERRNO_EPERM));
        assert_eq!(
            action_for(&filter, EXECVE, 0x4000_0003),
            Some(libc::SECCOMP_RET_KILL_PROCESS)
        );
        let filter = kill_other_arches_and(EXECVE, libc::SECCOMP_RET_KILL_THREAD);
        assert_eq!(
            action_for(&filter, EXECVE, THIS_ARCH),
            Some(libc::SECCOMP_RET_KILL_THREAD)
        );
    }

    #[test]
    fn a_program_that_reads_the_arguments_has_no_answer() {
        let filter = [
            stmt(BPF_LD | BPF_W | BPF_ABS, 16), // args[0]
            stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
        ];
        assert_eq!(action_for(&filter, EXECVE, THIS_ARCH), None);
    }

    #[test]
    fn arithmetic_scratch_memory_and_returning_a() {
        // A = nr; M[3] = A; X = 8; A = (A + X) * 2; if A & 1 ... ; A = M[3]; TAX; TXA; ret A
        let filter = [
            stmt(BPF_LD | BPF_W | BPF_ABS, 0),
            stmt(BPF_ST, 3),
            stmt(BPF_LDX | BPF_IMM, 8),
            stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
            stmt(BPF_ALU | BPF_MUL | BPF_K, 2),
            jump(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
            stmt(BPF_RET | BPF_K, 1),
            jump(BPF_JMP | BPF_JGE | BPF_K, 2 * (EXECVE + 8), 0, 4),
            stmt(BPF_LD | BPF_MEM, 3),
            stmt(BPF_MISC | BPF_TAX, 0),
            stmt(BPF_MISC | BPF_TXA, 0),
            stmt(BPF_RET | BPF_A, 0),
            stmt(BPF_RET | BPF_K, 2),
        ];
        assert_eq!(action_for(&filter, EXECVE, THIS_ARCH), Some(EXECVE));
        assert_eq!(action_for(&filter, 1, THIS_ARCH), Some(2));
    }

    #[test]
    fn a_division_by_zero_or_a_jump_out_of_the_program_has_no_answer() {
        let divide = [stmt(BPF_ALU | BPF_DIV | BPF_X, 0), stmt(BPF_RET | BPF_K, 0)];
        assert_eq!(action_for(&divide, EXECVE, THIS_ARCH), None);
        let out = [stmt(BPF_JMP | BPF_JA, 5), stmt(BPF_RET | BPF_K, 0)];
        assert_eq!(action_for(&out, EXECVE, THIS_ARCH), None);
    }

    #[test]
    fn kill_trap_and_unknown_actions_may_kill_the_others_do_not() {
        for action in [
            libc::SECCOMP_RET_KILL_PROCESS,
            libc::SECCOMP_RET_KILL_THREAD,
            libc::SECCOMP_RET_TRAP | 7,
            0x0001_0000,
        ] {
            assert!(may_kill(action), "{action:#x}");
        }
        for action in [
            ERRNO_EPERM,
            libc::SECCOMP_RET_USER_NOTIF,
            libc::SECCOMP_RET_TRACE | 1,
            libc::SECCOMP_RET_LOG,
            libc::SECCOMP_RET_ALLOW,
        ] {
            assert!(!may_kill(action), "{action:#x}");
        }
    }
}
