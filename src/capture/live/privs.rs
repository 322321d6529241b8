//! Dropping privileges once the captures are open.
//!
//! Opening a raw socket needs root or `CAP_NET_RAW`; reading an open one
//! needs nothing. So `live` opens every capture first, then switches to an
//! unprivileged user (`--user` / `[run] user`): supplementary groups,
//! group, then user. `setuid` from root clears every capability (no
//! `PR_SET_KEEPCAPS`), so nothing privileged is left while traffic is
//! processed; re-opening a capture needs a restart (systemd `Restart=`).

use nix::unistd::{self, Gid, Uid, User};

/// Switches the process (all threads: glibc applies set*id process-wide)
/// to `name` and its primary group.
///
/// # Errors
/// Unknown user, or a set*id call failed (not root), or root could be
/// regained afterwards.
pub fn drop_to(name: &str) -> Result<(), String> {
    let user = User::from_name(name)
        .map_err(|e| format!("looking up user {name:?}: {e}"))?
        .ok_or_else(|| format!("no such user {name:?}"))?;
    switch(user.uid, user.gid).map_err(|e| format!("switching to user {name:?}: {e}"))
}

fn switch(uid: Uid, gid: Gid) -> Result<(), String> {
    unistd::setgroups(&[gid]).map_err(|e| format!("setgroups: {e}"))?;
    unistd::setgid(gid).map_err(|e| format!("setgid: {e}"))?;
    unistd::setuid(uid).map_err(|e| format!("setuid: {e}"))?;
    if !uid.is_root() && unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err("root could be regained after setuid".into());
    }
    Ok(())
}

/// True when the process runs with root's effective user id.
pub fn is_root() -> bool {
    unistd::geteuid().is_root()
}

/// What to do about root before processing traffic: `Err` with the reason
/// to refuse, `Ok(Some(warning))` to go on with a warning.
///
/// # Errors
/// Still root and `allow_root` not given.
pub fn check_root(still_root: bool, allow_root: bool) -> Result<Option<String>, String> {
    match (still_root, allow_root) {
        (false, _) => Ok(None),
        (true, true) => Ok(Some(
            "processing traffic as root (--allow-root); prefer --user".into(),
        )),
        (true, false) => Err(
            "refusing to process traffic as root: give --user USER (or [run] user) to drop \
             privileges once the captures are open, or --allow-root"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_policy() {
        assert_eq!(check_root(false, false), Ok(None));
        assert!(check_root(true, true).unwrap().is_some());
        let e = check_root(true, false).unwrap_err();
        assert!(e.contains("--user"), "{e}");
    }

    #[test]
    fn unknown_user_is_named() {
        let e = drop_to("lw-no-such-user-x").unwrap_err();
        assert!(e.contains("lw-no-such-user-x"), "{e}");
    }
}
