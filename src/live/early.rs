//! Accounts' reads started while the organization's tree is still being walked (issue 25).
//!
//! At AWS's rates the walk alone takes ~11 s at 1,000 accounts (ListOrganizationalUnitsForParent
//! and ListAccountsForParent, 5 a second each). Each account's controls, and its search for what
//! landing-zone created, start as the walk lists the account (`WalkWatcher`), on the ids the
//! spec pins (`accounts.X.id`, which `import` writes), instead of after the whole structure.
//!
//! They are kept only if the ids matched once the walk is done (`planner::match_accounts`) are
//! the very ids they were read with ([`EarlyReads::usable`]); otherwise every early read is
//! dropped and the accounts are read as before. A read depends on nothing else the walk learns:
//! its account's id, the organization's id, its management account and trusted services (both
//! read before the first early read starts), the account's state (from its own listing), and the
//! spec. A failed early read is not kept: the read after the walk makes it again and reports its
//! own error. No more than `--accounts-at-once` accounts are read at once: once the walk is done,
//! the early reads go on through every account it listed ([`EarlyReads::close`]) and the reads
//! after the walk wait for them, or, when they do not hold, stop ([`EarlyReads::stop`]) and the
//! reads after the walk read the accounts themselves.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, watch, Notify};

use crate::aws::session::Sessions;
use crate::aws::Concurrency;
use crate::baseline::reads::RunReads;
use crate::baseline::Context as BaselineContext;
use crate::live::controls::{search_account, Read, Reading};
use crate::live::organization::WalkWatcher;
use crate::live::progress::{ReadTally, SilentReadReporter};
use crate::plan::control::{ControlKey, DesiredControl, KnownIds};
use crate::plan::state::{AccountState, LiveAccount, LiveOrganization, OrganizationInfo};
use crate::plan::DesiredOrganization;

/// One account's early reads: its controls, and what its search found (None: not searched).
/// Each is taken once by the read after the walk that needs it, so the organization's controls
/// are held once, not here and in the live state both.
#[derive(Debug)]
pub struct AccountReads {
    reads: Mutex<Option<Vec<Read>>>,
    found: Mutex<Option<Vec<crate::baseline::Found>>>,
}

impl AccountReads {
    /// The controls read; None once taken.
    pub fn take_reads(&self) -> Option<Vec<Read>> {
        self.reads.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// What the search found; None when not searched, or once taken.
    pub fn take_found(&self) -> Option<Vec<crate::baseline::Found>> {
        self.found.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// One account's early reads as they stand: None while under way; the sender is dropped without
/// a value when they failed.
type Outcome = watch::Receiver<Option<Arc<AccountReads>>>;

/// What the walk has told: an account listed (its outcome's sender), or the organization known.
enum Message {
    Ready,
    Account { name: String, searched: bool, outcome: watch::Sender<Option<Arc<AccountReads>>> },
}

/// An account waiting for its early reads.
struct Queued {
    name: String,
    searched: bool,
    outcome: watch::Sender<Option<Arc<AccountReads>>>,
}

/// Known once the organization and its trusted services are read.
struct Started {
    /// The organization and its trusted services: what a control's read asks of the structure.
    live: LiveOrganization,
    /// The ids the early reads resolve with: the spec's pinned ids, matched as after the walk.
    known: KnownIds,
}

/// The accounts' reads made while the walk goes on, and the means to start them.
pub struct EarlyReads<'a> {
    desired: &'a DesiredOrganization,
    sessions: &'a Sessions,
    /// The baselines searched for what landing-zone created (`baseline::tracked`).
    baselines: &'a [&'static dyn crate::baseline::Baseline],
    regions: &'a [String],
    concurrency: Concurrency,
    /// Spec account name by the id the spec pins (every account's).
    pinned: BTreeMap<&'a str, &'a str>,
    /// Accounts the spec closes: not searched (as `controls::find_owned` chooses).
    closing: BTreeSet<&'a str>,
    /// Each account's desired controls, by spec name.
    controls: BTreeMap<&'a str, Vec<&'a DesiredControl>>,
    /// Shared with the reads after the walk when the early reads are kept. It names every desired
    /// control, which is also what a search keeps out (`RunReads::controls`).
    reads: RunReads,
    started: OnceLock<Started>,
    sender: mpsc::UnboundedSender<Message>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Message>>>,
    work: Mutex<HashMap<String, Outcome>>,
    /// No account starts from now on; those queued are dropped (their readers read them again).
    stopped: AtomicBool,
    /// The walk is done: every account is queued, and the queue is read to its end.
    closed: AtomicBool,
    /// Wakes the runner for either.
    wake: Notify,
}

impl<'a> EarlyReads<'a> {
    /// None unless the spec pins every account's id (as `import` writes it): an account matched
    /// by its email instead would make the ids differ after the walk, and every early read would
    /// be made again.
    pub fn new(
        desired: &'a DesiredOrganization,
        sessions: &'a Sessions,
        baselines: &'a [&'static dyn crate::baseline::Baseline],
        regions: &'a [String],
        concurrency: Concurrency,
    ) -> Option<EarlyReads<'a>> {
        let pinned = desired
            .accounts
            .iter()
            .map(|account| Some((account.id.as_deref()?, account.name.as_str())))
            .collect::<Option<BTreeMap<&str, &str>>>()?;
        let closing =
            desired.accounts.iter().filter(|account| account.close).map(|account| account.name.as_str()).collect();
        let mut controls: BTreeMap<&str, Vec<&DesiredControl>> = BTreeMap::new();
        for control in &desired.controls {
            controls.entry(control.key.account.as_str()).or_default().push(control);
        }
        let wanted: BTreeSet<ControlKey> = desired.controls.iter().map(|control| control.key.clone()).collect();
        let (sender, receiver) = mpsc::unbounded_channel();
        Some(EarlyReads {
            desired,
            sessions,
            baselines,
            regions,
            concurrency,
            pinned,
            closing,
            controls,
            reads: RunReads::new(wanted),
            started: OnceLock::new(),
            sender,
            receiver: Mutex::new(Some(receiver)),
            work: Mutex::new(HashMap::new()),
            stopped: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// Whether the early reads hold for `known`, the ids matched once the walk is done: they were
    /// read with exactly these.
    pub fn usable(&self, known: &KnownIds) -> bool {
        self.started.get().is_some_and(|started| started.known == *known)
    }

    /// The run's shared reads the early reads used (for the reads after the walk, when usable).
    pub fn reads(&self) -> &RunReads {
        &self.reads
    }

    /// Starts no more accounts; those under way finish, those queued are dropped (whoever waits
    /// for one reads it itself).
    pub fn stop(&self) {
        {
            let _work = self.work.lock().unwrap_or_else(PoisonError::into_inner);
            self.stopped.store(true, Ordering::SeqCst);
        }
        self.wake.notify_one();
    }

    /// The walk is done and the early reads hold: read every queued account, `--accounts-at-once`
    /// at a time as before, so the reads after the walk only wait for them (no second set of
    /// accounts in flight beside them).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// What was read early in `account` (spec name), waiting for it when queued or under way;
    /// None when the walk never listed it, or its reads failed or were dropped.
    pub async fn finished(&self, account: &str) -> Option<Arc<AccountReads>> {
        let mut outcome = self.work.lock().unwrap_or_else(PoisonError::into_inner).get(account).cloned()?;
        let done = outcome.wait_for(Option::is_some).await.ok()?.clone();
        done
    }

    /// Reads each account the walk lists, `--accounts-at-once` at a time, in the order listed;
    /// returns once stopped (or closed with the queue read) and the accounts under way are read.
    pub async fn run(&self) {
        let Some(mut messages) = self.receiver.lock().unwrap_or_else(PoisonError::into_inner).take() else { return };
        let mut ready = false;
        let mut waiting: VecDeque<Queued> = VecDeque::new();
        let mut under_way = FuturesUnordered::new();
        loop {
            // Every message sent so far, so a closed queue is whole.
            while let Ok(message) = messages.try_recv() {
                self.take(message, &mut ready, &mut waiting).await;
            }
            let stopped = self.stopped.load(Ordering::SeqCst);
            let closed = self.closed.load(Ordering::SeqCst);
            if stopped || (closed && !ready) {
                waiting.clear();
            }
            while ready && !stopped && under_way.len() < self.concurrency.accounts.max(1) {
                let Some(queued) = waiting.pop_front() else { break };
                under_way.push(self.read_into(queued));
            }
            if (stopped || closed) && waiting.is_empty() && under_way.is_empty() {
                return;
            }
            tokio::select! {
                Some(message) = messages.recv(), if !stopped && !closed => self.take(message, &mut ready, &mut waiting).await,
                Some(()) = under_way.next(), if !under_way.is_empty() => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// Takes in one message of the walk's.
    async fn take(&self, message: Message, ready: &mut bool, waiting: &mut VecDeque<Queued>) {
        match message {
            Message::Ready => {
                if let Some(organization) = self.started.get().and_then(|started| started.live.organization.as_ref()) {
                    // Before any client is built: the management account signs as the caller.
                    self.sessions.set_management_account(&organization.management_account_id).await;
                    *ready = true;
                }
            }
            Message::Account { name, searched, outcome } => waiting.push_back(Queued { name, searched, outcome }),
        }
    }

    /// Reads one queued account and tells whoever waits for it.
    async fn read_into(&self, queued: Queued) {
        if let Some(reads) = self.read_account(queued.name, queued.searched).await {
            // Nobody may be waiting yet; the value stays for those who come.
            queued.outcome.send_replace(Some(reads));
        }
    }

    async fn read_account(&self, account: String, searched: bool) -> Option<Arc<AccountReads>> {
        let started = self.started.get()?;
        let controls = self.controls.get(account.as_str()).cloned().unwrap_or_default();
        let context = BaselineContext { sessions: self.sessions, ids: &started.known, reads: Some(&self.reads) };
        let tally = ReadTally::new(controls.iter().map(|control| &control.key));
        let reading = Reading {
            context: &context,
            known: &started.known,
            live: &started.live,
            tally: &tally,
            reporter: &SilentReadReporter,
            calls: self.concurrency.calls,
        };
        let reads = match reading.read_account(controls).await {
            Ok(reads) => reads,
            Err(error) => {
                tracing::debug!(account, "an early read failed; read again after the walk: {error:#}");
                return None;
            }
        };
        let found = if searched {
            let calls = self.concurrency.calls;
            let wanted = self.reads.controls();
            match search_account(self.baselines, &context, &account, self.regions, wanted, calls).await {
                Ok(found) => Some(found),
                Err(error) => {
                    tracing::debug!(account, "an early search failed; searched again after the walk: {error:#}");
                    None
                }
            }
        } else {
            None
        };
        if found.is_some() {
            // Read and searched: the account's batched listings are of no further use.
            self.reads.forget_account(&account);
        }
        Some(Arc::new(AccountReads { reads: Mutex::new(Some(reads)), found: Mutex::new(found) }))
    }
}

impl WalkWatcher for EarlyReads<'_> {
    fn organization(&self, organization: &OrganizationInfo, trusted_services: &BTreeSet<String>) {
        // The ids as `match_accounts` will match them if every pinned id is found live and no
        // other account matches by email: the pinned accounts, and the management account.
        let pinned = LiveOrganization {
            organization: Some(organization.clone()),
            accounts: self
                .desired
                .accounts
                .iter()
                .filter_map(|account| {
                    let id = account.id.clone()?;
                    let live = LiveAccount {
                        id: id.clone(),
                        name: account.name.clone(),
                        email: account.email.clone(),
                        state: AccountState::Active,
                        parent_id: String::new(),
                        tags: None,
                    };
                    Some((id, live))
                })
                .collect(),
            ..LiveOrganization::default()
        };
        let known = KnownIds {
            accounts: crate::plan::planner::match_accounts(self.desired, &pinned),
            organization: Some(organization.id.clone()),
        };
        let live = LiveOrganization {
            organization: Some(organization.clone()),
            trusted_services: trusted_services.clone(),
            ..LiveOrganization::default()
        };
        if self.started.set(Started { live, known }).is_ok() {
            let _ = self.sender.send(Message::Ready);
        }
    }

    fn account(&self, account: &LiveAccount) {
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        // By the id the spec pins; queued until the organization is known.
        if let Some(name) = self.pinned.get(account.id.as_str()).map(|name| name.to_string()) {
            let searched = account.state.is_active() && !self.closing.contains(name.as_str());
            // Its outcome is known to readers from now on (before the runner takes the message),
            // so no account is read both early and after the walk.
            let (outcome, receiver) = watch::channel(None);
            {
                let mut work = self.work.lock().unwrap_or_else(PoisonError::into_inner);
                if self.stopped.load(Ordering::SeqCst) {
                    return;
                }
                work.insert(name.clone(), receiver);
            }
            let _ = self.sender.send(Message::Account { name, searched, outcome });
        }
    }
}
