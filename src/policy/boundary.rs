//! The boundary matrix: which PI may travel from which zone to which.
//!
//! Rules come from `[[boundary.deny]]` and `[[boundary.allow]]`. For one
//! finding on one path, the matching rule with the highest specificity
//! decides, compared first on zones (a named `from` and a named `to` count
//! one each, `"*"` zero), then on type (exact PI type 2, category 1, `"*"`
//! 0). On a tie, deny wins. When no rule matches, the finding is allowed:
//! an empty matrix reports no boundary violations.

use std::sync::Arc;

use super::config::{BoundaryConfig, BoundaryRuleConfig};
use super::zones::{ZoneId, ZoneSel, Zones};
use super::PolicyError;

/// A PI type selector: any, or names that match a PI type or a category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeSel {
    /// `"*"`.
    Any,
    /// Names; each matches a finding whose type or category equals it.
    Some(Vec<Box<str>>),
}

impl TypeSel {
    /// Builds a selector from a `types` list.
    ///
    /// # Errors
    /// An empty list, empty name, or `"*"` mixed with names.
    pub fn parse(key: &str, types: &[String]) -> Result<TypeSel, PolicyError> {
        if types.is_empty() {
            return Err(PolicyError::new(
                key,
                "empty type list (use [\"*\"] for all types)",
            ));
        }
        if types.iter().any(|t| t == "*") {
            if types.len() > 1 {
                return Err(PolicyError::new(
                    key,
                    "\"*\" cannot be combined with type names",
                ));
            }
            return Ok(TypeSel::Any);
        }
        if let Some(t) = types
            .iter()
            .find(|t| t.trim().is_empty() || t.trim() != t.as_str())
        {
            return Err(PolicyError::new(key, format!("bad type name {t:?}")));
        }
        Ok(TypeSel::Some(
            types.iter().map(|t| t.as_str().into()).collect(),
        ))
    }

    /// Specificity of the match for a finding: 2 type, 1 category, 0 `"*"`;
    /// `None` when it does not match.
    #[inline]
    pub fn score(&self, pi_type: &str, category: &str) -> Option<u8> {
        match self {
            TypeSel::Any => Some(0),
            TypeSel::Some(v) => {
                if v.iter().any(|t| &**t == pi_type) {
                    Some(2)
                } else if v.iter().any(|t| &**t == category) {
                    Some(1)
                } else {
                    None
                }
            }
        }
    }

    /// Names listed (for checks against the loaded detectors).
    pub fn names(&self) -> &[Box<str>] {
        match self {
            TypeSel::Any => &[],
            TypeSel::Some(v) => v,
        }
    }
}

/// What a rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `[[boundary.allow]]`.
    Allow,
    /// `[[boundary.deny]]`.
    Deny,
}

/// One compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Allow or deny.
    pub action: Action,
    /// Sender zones.
    pub from: ZoneSel,
    /// Receiver zones.
    pub to: ZoneSel,
    /// PI types or categories.
    pub types: TypeSel,
    /// Key path, e.g. `boundary.deny[0]` (names the rule in reasons).
    pub label: Arc<str>,
    /// The configured reason, if any.
    pub reason: Option<Arc<str>>,
}

/// The compiled matrix.
#[derive(Clone, Debug, Default)]
pub struct Boundary {
    rules: Vec<Rule>,
}

impl Boundary {
    /// Compiles `[boundary]` against the zones.
    ///
    /// # Errors
    /// Unknown zone names or bad type lists, naming the rule's key path.
    pub fn build(cfg: &BoundaryConfig, zones: &Zones) -> Result<Boundary, PolicyError> {
        let mut rules = Vec::new();
        for (action, list, name) in [
            (Action::Deny, &cfg.deny, "deny"),
            (Action::Allow, &cfg.allow, "allow"),
        ] {
            for (i, r) in list.iter().enumerate() {
                rules.push(compile(action, &format!("boundary.{name}[{i}]"), r, zones)?);
            }
        }
        Ok(Boundary { rules })
    }

    /// The deciding rule for one finding on a path, `None` when no rule
    /// matches (allowed by default).
    #[inline]
    pub fn decide(&self, from: ZoneId, to: ZoneId, pi_type: &str, category: &str) -> Option<&Rule> {
        let mut best: Option<(&Rule, (u8, u8, bool))> = None;
        for r in &self.rules {
            if !r.from.matches(from) || !r.to.matches(to) {
                continue;
            }
            let Some(ts) = r.types.score(pi_type, category) else {
                continue;
            };
            let key = (
                r.from.specificity() + r.to.specificity(),
                ts,
                r.action == Action::Deny,
            );
            if best.as_ref().is_none_or(|(_, k)| key > *k) {
                best = Some((r, key));
            }
        }
        best.map(|(r, _)| r)
    }

    /// Whether the deciding rule denies the finding.
    #[inline]
    pub fn denied(&self, from: ZoneId, to: ZoneId, pi_type: &str, category: &str) -> Option<&Rule> {
        self.decide(from, to, pi_type, category)
            .filter(|r| r.action == Action::Deny)
    }

    /// All rules (for type-name checks).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

fn compile(
    action: Action,
    key: &str,
    r: &BoundaryRuleConfig,
    zones: &Zones,
) -> Result<Rule, PolicyError> {
    Ok(Rule {
        action,
        from: zones.select(&format!("{key}.from"), &r.from)?,
        to: zones.select(&format!("{key}.to"), &r.to)?,
        types: TypeSel::parse(&format!("{key}.types"), &r.types)?,
        label: key.into(),
        reason: r.reason.as_deref().map(Into::into),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config::PolicyConfig;

    fn setup(rules: &str) -> (Zones, Boundary) {
        let text = format!(
            "[zones.office]\ncidrs = [\"10.1.0.0/16\"]\n[zones.pci]\ncidrs = [\"10.2.0.0/16\"]\n[zones.hr]\ncidrs = [\"10.3.0.0/16\"]\n{rules}"
        );
        let c: PolicyConfig = toml::from_str(&text).unwrap();
        let z = Zones::build(&c.zones, &c.default_zone).unwrap();
        let b = Boundary::build(&c.boundary, &z).unwrap();
        (z, b)
    }

    fn verdict(
        z: &Zones,
        b: &Boundary,
        from: &str,
        to: &str,
        t: &str,
        cat: &str,
    ) -> Option<String> {
        b.decide(z.id(from).unwrap(), z.id(to).unwrap(), t, cat)
            .map(|r| format!("{:?} {}", r.action, r.label))
    }

    #[test]
    fn no_rule_means_allowed() {
        let (z, b) = setup("");
        assert_eq!(
            verdict(&z, &b, "pci", "internet", "bank_card", "financial"),
            None
        );
    }

    #[test]
    fn exact_zone_beats_wildcard() {
        let (z, b) = setup(
            "[[boundary.deny]]\nfrom = \"pci\"\nto = \"*\"\n[[boundary.allow]]\nfrom = \"pci\"\nto = \"hr\"\n",
        );
        assert_eq!(
            verdict(&z, &b, "pci", "hr", "email", "contact").unwrap(),
            "Allow boundary.allow[0]"
        );
        assert_eq!(
            verdict(&z, &b, "pci", "office", "email", "contact").unwrap(),
            "Deny boundary.deny[0]"
        );
        assert_eq!(verdict(&z, &b, "office", "pci", "email", "contact"), None);
    }

    #[test]
    fn exact_type_beats_category_beats_wildcard() {
        let (z, b) = setup(concat!(
            "[[boundary.deny]]\nfrom = \"pci\"\nto = \"office\"\ntypes = [\"*\"]\n",
            "[[boundary.allow]]\nfrom = \"pci\"\nto = \"office\"\ntypes = [\"contact\"]\n",
            "[[boundary.deny]]\nfrom = \"pci\"\nto = \"office\"\ntypes = [\"cn_mobile\"]\n",
        ));
        assert_eq!(
            verdict(&z, &b, "pci", "office", "bank_card", "financial").unwrap(),
            "Deny boundary.deny[0]"
        );
        assert_eq!(
            verdict(&z, &b, "pci", "office", "email", "contact").unwrap(),
            "Allow boundary.allow[0]"
        );
        assert_eq!(
            verdict(&z, &b, "pci", "office", "cn_mobile", "contact").unwrap(),
            "Deny boundary.deny[1]"
        );
    }

    #[test]
    fn zone_specificity_outranks_type_and_deny_wins_ties() {
        let (z, b) = setup(concat!(
            "[[boundary.allow]]\nfrom = \"*\"\nto = \"*\"\ntypes = [\"email\"]\n",
            "[[boundary.deny]]\nfrom = \"hr\"\nto = [\"office\", \"internet\"]\n",
            "[[boundary.allow]]\nfrom = \"hr\"\nto = \"office\"\n",
        ));
        assert_eq!(
            verdict(&z, &b, "hr", "internet", "email", "contact").unwrap(),
            "Deny boundary.deny[0]"
        );
        assert_eq!(
            verdict(&z, &b, "hr", "office", "email", "contact").unwrap(),
            "Deny boundary.deny[0]"
        );
        assert_eq!(
            verdict(&z, &b, "pci", "office", "email", "contact").unwrap(),
            "Allow boundary.allow[0]"
        );
        assert!(b
            .denied(
                z.id("hr").unwrap(),
                z.id("office").unwrap(),
                "email",
                "contact"
            )
            .is_some());
    }

    #[test]
    fn bad_rules_name_keys() {
        let c: PolicyConfig = toml::from_str(
            "[zones.pci]\n[[boundary.deny]]\nfrom = \"pci\"\nto = \"internet\"\n[[boundary.deny]]\nfrom = \"pci\"\nto = \"ofice\"\n",
        )
        .unwrap();
        let z = Zones::build(&c.zones, &c.default_zone).unwrap();
        let e = Boundary::build(&c.boundary, &z).unwrap_err();
        assert_eq!(e.key(), "boundary.deny[1].to");
        let e =
            TypeSel::parse("boundary.allow[0].types", &["*".into(), "email".into()]).unwrap_err();
        assert_eq!(e.key(), "boundary.allow[0].types");
        assert!(TypeSel::parse("k", &[]).is_err());
    }
}
