//! Organizational units: create, rename, tag; units in AWS but not in the spec become notes (or
//! deletions when the spec opts in).

use super::*;

impl Planner<'_> {
    pub(super) fn units(&mut self) -> Result<(), PlanError> {
        for unit in &self.desired.units {
            let parent = self
                .units
                .get(&unit.parent_path)
                .cloned()
                .unwrap_or_else(|| Resolved { reference: self.root(), created_by: self.create_organization });
            let parent_id = match &parent.reference {
                UnitRef::Existing { id, .. } => Some(id.clone()),
                UnitRef::Planned { .. } => None,
            };
            let live_unit = match &unit.id {
                Some(id) => {
                    let live_unit = self
                        .live
                        .units
                        .get(id)
                        .ok_or_else(|| PlanError::UnitIdNotFound { path: unit.path.clone(), id: id.clone() })?;
                    if parent_id.as_deref() != Some(live_unit.parent_id.as_str()) {
                        return Err(PlanError::UnitMoved {
                            path: unit.path.clone(),
                            id: id.clone(),
                            live_parent: self
                                .live
                                .path_of(&live_unit.parent_id)
                                .unwrap_or_else(|| live_unit.parent_id.clone()),
                        });
                    }
                    Some(live_unit)
                }
                None => parent_id.as_ref().and_then(|parent_id| {
                    self.live
                        .units
                        .values()
                        .find(|candidate| &candidate.parent_id == parent_id && candidate.name == unit.name)
                }),
            };
            match live_unit {
                Some(live_unit) => {
                    self.matched_unit_ids.insert(live_unit.id.clone());
                    let reference = UnitRef::Existing { id: live_unit.id.clone(), path: unit.path.clone() };
                    self.units.insert(unit.path.clone(), Resolved { reference, created_by: None });
                    if live_unit.name != unit.name {
                        let taken = self.live.units.values().find(|other| {
                            other.parent_id == live_unit.parent_id
                                && other.id != live_unit.id
                                && other.name == unit.name
                        });
                        if let Some(other) = taken {
                            return Err(PlanError::NameTaken {
                                path: unit.path.clone(),
                                id: live_unit.id.clone(),
                                other: other.id.clone(),
                            });
                        }
                        let name = Change { before: live_unit.name.clone(), after: unit.name.clone() };
                        let action = Action::RenameUnit { id: live_unit.id.clone(), path: unit.path.clone(), name };
                        self.push(action, [], 0);
                    }
                    if let Some(tags) = &unit.tags {
                        let before = live_unit.tags.clone().unwrap_or_default();
                        self.update_tags(&live_unit.id, format!("unit {}", unit.path), before, tags.clone());
                    }
                }
                None => {
                    let action = Action::CreateUnit {
                        path: unit.path.clone(),
                        name: unit.name.clone(),
                        parent: parent.reference.clone(),
                        tags: unit.tags.clone().unwrap_or_default(),
                    };
                    let index = self.push(action, [parent.created_by], 0);
                    let reference = UnitRef::Planned { path: unit.path.clone() };
                    self.units.insert(unit.path.clone(), Resolved { reference, created_by: Some(index) });
                }
            }
        }
        Ok(())
    }

    pub(super) fn update_tags(
        &mut self,
        resource_id: &str,
        resource: String,
        before: BTreeMap<String, String>,
        after: BTreeMap<String, String>,
    ) {
        if before != after {
            let tags = Change { before, after };
            self.push(Action::UpdateTags { resource_id: resource_id.to_string(), resource, tags }, [], 0);
        }
    }

    pub(super) fn unit_for(&self, path: &str) -> Resolved<UnitRef> {
        self.units
            .get(path)
            .cloned()
            .unwrap_or_else(|| Resolved { reference: self.root(), created_by: self.create_organization })
    }

    /// Live OUs the spec does not name: deleted when empty and opted in, otherwise noted.
    pub(super) fn unmanaged_units(&mut self) {
        let mut unmatched: Vec<(String, String)> = self
            .live
            .units
            .values()
            .filter(|unit| !self.matched_unit_ids.contains(&unit.id))
            .map(|unit| (self.live.path_of(&unit.id).unwrap_or_else(|| unit.name.clone()), unit.id.clone()))
            .collect();
        // Deepest first, so a parent's deletion can wait for its children's.
        unmatched.sort_by(|a, b| b.0.split('/').count().cmp(&a.0.split('/').count()).then_with(|| a.0.cmp(&b.0)));
        let opted_in = self.desired.allow.delete_empty_units;
        let mut deletions: BTreeMap<String, usize> = BTreeMap::new();
        for (path, id) in &unmatched {
            self.rename_hint(path, id);
        }
        for (path, id) in unmatched {
            let children: Vec<String> =
                self.live.units.values().filter(|unit| unit.parent_id == id).map(|unit| unit.id.clone()).collect();
            // Accounts this plan moves out do not keep the OU from being deleted; the deletion waits for them.
            let moves_out: BTreeMap<String, usize> = self
                .actions
                .iter()
                .filter_map(|planned| match &planned.action {
                    Action::MoveAccount {
                        account: AccountRef::Existing { id: account, .. },
                        from: UnitRef::Existing { id: from, .. },
                        ..
                    } if *from == id => Some((account.clone(), planned.index)),
                    _ => None,
                })
                .collect();
            let has_accounts = self
                .live
                .accounts
                .values()
                .any(|account| account.parent_id == id && !moves_out.contains_key(&account.id));
            let children_deleted = children.iter().all(|child| deletions.contains_key(child));
            let deletable = !has_accounts && children_deleted;
            if !opted_in {
                self.note(format!("unit {path}"), "not in the spec; left alone (opt in with `organization.allow.delete_empty_units` and --allow-destructive to delete it when empty)");
                continue;
            }
            if !deletable {
                self.note(format!("unit {path}"), "not in the spec, but not empty: left alone");
                continue;
            }
            // With the spec's opt-in, an empty OU the spec no longer names is a pending deletion:
            // without --allow-destructive it is blocked, not silently left.
            if self.opted_in(format!("unit {path}"), "delete the empty OU (not in the spec)", None) {
                let mut depends: Vec<Option<usize>> =
                    children.iter().map(|child| deletions.get(child).copied()).collect();
                depends.extend(moves_out.values().map(|index| Some(*index)));
                // AWS deletes an OU's policy attachments with it, and DetachPolicy on a deleted OU
                // fails (TargetNotFoundException): every detachment from it goes first.
                // https://docs.aws.amazon.com/organizations/latest/APIReference/API_DetachPolicy.html
                depends.extend(self.actions.iter().filter_map(|planned| match &planned.action {
                    Action::DetachPolicy {
                        target: TargetRef::Unit { unit: UnitRef::Existing { id: unit, .. } },
                        ..
                    } if *unit == id => Some(Some(planned.index)),
                    _ => None,
                }));
                let index = self.push(Action::DeleteUnit { id: id.clone(), path: path.clone() }, depends, 0);
                deletions.insert(id, index);
            }
        }
    }

    /// A live OU the spec does not name, beside an OU the plan creates under the same parent,
    /// was most likely renamed in the spec: say how to make that a rename (`id:` pins the OU, as
    /// `import` writes it) instead of a new OU and a left-over one. Display-only: a note.
    fn rename_hint(&mut self, path: &str, id: &str) {
        let Some(live_unit) = self.live.units.get(id) else { return };
        let created: Vec<String> = self
            .actions
            .iter()
            .filter_map(|planned| match &planned.action {
                Action::CreateUnit { name, parent: UnitRef::Existing { id: parent, .. }, .. }
                    if *parent == live_unit.parent_id =>
                {
                    Some(name.clone())
                }
                _ => None,
            })
            .collect();
        for name in created {
            self.note(
                format!("unit {path}"),
                format!(
                    "the plan creates OU `{name}` beside it: to rename `{}` to `{name}` instead, pin it in the spec with `{name}: {{ id: {id} }}` (`landing-zone graph --live` shows every OU's id)",
                    live_unit.name
                ),
            );
        }
    }
}
