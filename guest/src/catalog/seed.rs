//! The seed catalog: the AI tools an installation starts with.
//!
//! The spec names a "supported tools/models catalog" but ships no body, so the app brings its own:
//! widely used assistants, coding tools and model APIs with a sensible starting risk level, status
//! and default grant length. Admins edit every record afterwards; seeding only fills an empty
//! catalog. Enterprise tiers covered by a data processing agreement start lower; consumer tiers and
//! code assistants with repository access start higher. Bump `SEED_VERSION` when the list changes.

use crate::catalog::data::{DataProfile, TrainsOnInputs, VendorTerms};
use crate::catalog::RiskLevel::{Critical, High, Low, Medium};
use crate::catalog::ToolStatus::{Approved, Blocked, Denied};
use crate::catalog::{RiskLevel, Tool, ToolStatus};

/// The version of the list below; stored with a seeded catalog so later seeds can add tools.
pub const SEED_VERSION: u32 = 2;

/// One catalog record as written here (static text, turned into a `Tool` by `catalog`).
struct Seed {
    id: &'static str,
    name: &'static str,
    provider: &'static str,
    status: ToolStatus,
    risk: RiskLevel,
    days: u32,
    guidance: &'static str,
    notes: &'static str,
}

impl Seed {
    fn tool(&self) -> Tool {
        Tool {
            id: self.id.into(),
            display_name: self.name.into(),
            provider: self.provider.into(),
            status: self.status,
            risk_level: self.risk,
            default_expiry_days: self.days,
            guidance: self.guidance.into(),
            fulfilment_notes: self.notes.into(),
            connector_id: None,
            entitlement_group: None,
            data_profile: profile_of(self.id),
            version: 0,
            updated_at: String::new(),
        }
    }
}

const SEEDS: &[Seed] = &[
    Seed {
        id: "chatgpt-enterprise",
        name: "ChatGPT Enterprise",
        provider: "OpenAI",
        status: Approved,
        risk: Medium,
        days: 90,
        guidance: "Approved for internal and confidential business data in the company workspace; \
                   prompts are not used for model training. Do not paste customer personal data, \
                   credentials or regulated data.",
        notes: "Invite the requester to the company ChatGPT Enterprise workspace (SSO); remove \
                the seat when the grant ends.",
    },
    Seed {
        id: "github-copilot",
        name: "GitHub Copilot Business",
        provider: "GitHub (Microsoft)",
        status: Approved,
        risk: Low,
        days: 180,
        guidance: "Approved for company repositories with public-code matching blocked. Do not \
                   put secrets or customer data in prompts or in files open in the editor.",
        notes: "Assign a Copilot Business seat in the GitHub organization settings; unassign it \
                when the grant ends.",
    },
    Seed {
        id: "claude-team",
        name: "Claude Team",
        provider: "Anthropic",
        status: Approved,
        risk: Medium,
        days: 90,
        guidance: "Approved for internal and confidential business data in the company Team \
                   workspace; conversations are not used for training. Keep customer personal \
                   data and credentials out of chats and uploads.",
        notes: "Add the requester as a member of the company Claude Team organization; remove \
                the member when the grant ends.",
    },
    Seed {
        id: "gemini-enterprise",
        name: "Gemini for Google Workspace (Enterprise)",
        provider: "Google",
        status: Approved,
        risk: Medium,
        days: 60,
        guidance: "Approved for Workspace documents you can already open; Gemini follows Drive \
                   sharing permissions. Do not upload regulated data or files shared with you by \
                   customers.",
        notes: "Assign the Gemini add-on licence to the user in the Google Admin console; remove \
                the licence when the grant ends.",
    },
    Seed {
        id: "cursor-business",
        name: "Cursor Business",
        provider: "Anysphere",
        status: Approved,
        risk: High,
        days: 30,
        guidance: "Approved for company code with Privacy Mode enforced by the team settings. The \
                   editor sends repository context to the provider: never open repositories that \
                   hold secrets or customer data.",
        notes: "Invite the requester to the company Cursor Business team (Privacy Mode enforced); \
                remove the member when the grant ends.",
    },
    Seed {
        id: "midjourney",
        name: "Midjourney",
        provider: "Midjourney, Inc.",
        status: Blocked,
        risk: High,
        days: 30,
        guidance: "Blocked: images are public by default on standard plans and the licence terms \
                   for commercial use of generated images are under legal review. Request \
                   approved image tools instead.",
        notes: "Not requestable while blocked.",
    },
    Seed {
        id: "deepseek-chat",
        name: "DeepSeek Chat",
        provider: "DeepSeek",
        status: Denied,
        risk: Critical,
        days: 14,
        guidance: "Denied: prompts and uploads are processed and stored outside approved \
                   jurisdictions with no data processing agreement. Do not use it with any \
                   company data.",
        notes: "Not requestable: denied by the AI governance review.",
    },
    Seed {
        id: "microsoft-365-copilot",
        name: "Microsoft 365 Copilot",
        provider: "Microsoft",
        status: Approved,
        risk: Low,
        days: 180,
        guidance: "Approved for company data in Microsoft 365; answers respect your existing file \
                   and mailbox permissions. Review generated content before sharing it outside \
                   the company.",
        notes: "Assign the Microsoft 365 Copilot licence in the Microsoft 365 admin center; \
                remove it when the grant ends.",
    },
    Seed {
        id: "chatgpt-plus",
        name: "ChatGPT Plus (personal)",
        provider: "OpenAI",
        status: Blocked,
        risk: High,
        days: 30,
        guidance:
            "Blocked: personal plans are outside the company agreement and may use chats for \
                   training. Request ChatGPT Enterprise instead.",
        notes: "Not requestable while blocked; point requesters to chatgpt-enterprise.",
    },
    Seed {
        id: "claude-pro",
        name: "Claude Pro (individual)",
        provider: "Anthropic",
        status: Approved,
        risk: High,
        days: 30,
        guidance: "Approved for public information only, for roles without a Claude Team seat. \
                   Turn off model training in privacy settings; no internal, customer or \
                   personal data.",
        notes: "The requester subscribes with a company card and expenses it; confirm training is \
                disabled before closing the request.",
    },
    Seed {
        id: "perplexity-enterprise",
        name: "Perplexity Enterprise Pro",
        provider: "Perplexity AI",
        status: Approved,
        risk: Medium,
        days: 90,
        guidance: "Approved for research with internal data in the company organization; uploads \
                   are not used for training. Do not upload customer or personal data.",
        notes: "Invite the requester to the company Perplexity Enterprise organization (SSO); \
                remove the seat when the grant ends.",
    },
    Seed {
        id: "notion-ai",
        name: "Notion AI",
        provider: "Notion Labs",
        status: Approved,
        risk: Medium,
        days: 90,
        guidance: "Approved inside the company Notion workspace for pages you can already access. \
                   Do not connect personal workspaces or third-party sources.",
        notes: "Enable the Notion AI add-on for the member in the workspace settings; remove it \
                when the grant ends.",
    },
    Seed {
        id: "grammarly-business",
        name: "Grammarly Business",
        provider: "Grammarly",
        status: Approved,
        risk: Low,
        days: 180,
        guidance:
            "Approved for writing assistance on internal text. Turn it off in fields holding \
                   passwords, customer records or legal documents.",
        notes: "Add the requester to the company Grammarly Business team; remove the seat when \
                the grant ends.",
    },
    Seed {
        id: "otter-ai",
        name: "Otter.ai Business",
        provider: "Otter.ai",
        status: Approved,
        risk: High,
        days: 30,
        guidance: "Approved for internal meetings only, with every participant told that the \
                   meeting is transcribed. Never record customer, HR or legal meetings.",
        notes: "Add the requester to the company Otter.ai Business workspace with auto-join \
                disabled; remove the seat when the grant ends.",
    },
    Seed {
        id: "jasper",
        name: "Jasper",
        provider: "Jasper AI",
        status: Approved,
        risk: Medium,
        days: 90,
        guidance: "Approved for marketing copy built from public and brand material. Do not paste \
                   unreleased product plans, customer data or financials.",
        notes: "Invite the requester to the company Jasper workspace; remove the seat when the \
                grant ends.",
    },
    Seed {
        id: "amazon-q-developer",
        name: "Amazon Q Developer Pro",
        provider: "Amazon Web Services",
        status: Approved,
        risk: Medium,
        days: 90,
        guidance: "Approved for company code and AWS accounts you already work in; content is not \
                   used to train the service on the Pro tier. Keep secrets out of prompts.",
        notes: "Subscribe the user to Amazon Q Developer Pro through IAM Identity Center; \
                unsubscribe when the grant ends.",
    },
    Seed {
        id: "windsurf",
        name: "Windsurf Teams",
        provider: "Windsurf (formerly Codeium)",
        status: Approved,
        risk: High,
        days: 30,
        guidance: "Approved for company code with zero data retention enforced by the team \
                   settings. The editor sends repository context to the provider: never open \
                   repositories that hold secrets or customer data.",
        notes: "Invite the requester to the company Windsurf team (zero data retention on); \
                remove the member when the grant ends.",
    },
    Seed {
        id: "tabnine",
        name: "Tabnine Enterprise",
        provider: "Tabnine",
        status: Approved,
        risk: Low,
        days: 180,
        guidance: "Approved for all company code: the company deployment keeps code inside our \
                   environment. Do not connect it to personal repositories.",
        notes: "Add the user to the Tabnine Enterprise team in the admin console; remove the \
                user when the grant ends.",
    },
    Seed {
        id: "mistral-le-chat",
        name: "Le Chat Pro",
        provider: "Mistral AI",
        status: Approved,
        risk: High,
        days: 30,
        guidance: "Approved for public information only. Opt out of training in the account \
                   settings; no internal, customer or personal data.",
        notes: "The requester subscribes with a company card and expenses it; confirm training is \
                disabled before closing the request.",
    },
    Seed {
        id: "meta-llama-api",
        name: "Llama API",
        provider: "Meta",
        status: Approved,
        risk: High,
        days: 30,
        guidance: "Approved for prototypes on synthetic or public data. Production use and any \
                   internal data need a separate architecture review.",
        notes: "Create a project key under the company developer account and share it through \
                the secrets manager; revoke the key when the grant ends.",
    },
    Seed {
        id: "openai-api",
        name: "OpenAI API Platform",
        provider: "OpenAI",
        status: Approved,
        risk: High,
        days: 30,
        guidance: "Approved for engineering use in the company organization (API data is not used \
                   for training). Keep keys in the secrets manager; customer data needs a data \
                   protection review first.",
        notes: "Add the requester to the relevant project in the company OpenAI organization; \
                remove them and rotate project keys when the grant ends.",
    },
    Seed {
        id: "anthropic-api",
        name: "Claude Developer Platform (API)",
        provider: "Anthropic",
        status: Approved,
        risk: High,
        days: 30,
        guidance: "Approved for engineering use in the company organization (API data is not used \
                   for training). Keep keys in the secrets manager; customer data needs a data \
                   protection review first.",
        notes: "Add the requester to the company Anthropic Console organization with the \
                developer role; remove them and rotate workspace keys when the grant ends.",
    },
    Seed {
        id: "google-vertex-ai",
        name: "Vertex AI",
        provider: "Google Cloud",
        status: Approved,
        risk: Medium,
        days: 90,
        guidance: "Approved in company Google Cloud projects in approved regions; prompts stay \
                   under the cloud agreement. Customer data only in projects cleared for it.",
        notes: "Grant the Vertex AI User role on the requested project through the cloud access \
                group; remove it when the grant ends.",
    },
    Seed {
        id: "azure-openai",
        name: "Azure OpenAI",
        provider: "Microsoft",
        status: Approved,
        risk: Medium,
        days: 90,
        guidance:
            "Approved in company Azure subscriptions in approved regions; prompts stay under \
                   the cloud agreement. Customer data only in resources cleared for it.",
        notes: "Grant the Cognitive Services OpenAI User role on the requested resource; remove \
                it when the grant ends.",
    },
    Seed {
        id: "atlassian-rovo",
        name: "Atlassian Rovo",
        provider: "Atlassian",
        status: Approved,
        risk: Low,
        days: 180,
        guidance: "Approved for Jira and Confluence content you can already see; answers follow \
                   existing permissions. Do not connect personal third-party accounts.",
        notes: "Add the user to the Rovo access group in Atlassian Administration; remove them \
                when the grant ends.",
    },
    Seed {
        id: "slack-ai",
        name: "Slack AI",
        provider: "Slack (Salesforce)",
        status: Approved,
        risk: Low,
        days: 180,
        guidance: "Approved for summaries and search over channels you are already in. Check \
                   summaries of customer channels before sharing them.",
        notes: "Assign the Slack AI add-on to the member in the workspace admin settings; remove \
                it when the grant ends.",
    },
    Seed {
        id: "zoom-ai-companion",
        name: "Zoom AI Companion",
        provider: "Zoom Communications",
        status: Approved,
        risk: Medium,
        days: 90,
        guidance: "Approved for internal meeting summaries; participants are notified when it is \
                   on. Turn it off for HR, legal and customer negotiation meetings.",
        notes: "Enable AI Companion for the user in the Zoom admin portal; disable it when the \
                grant ends.",
    },
];

/// Seed data profiles for tools whose vendor terms are public (issue 35): the classes the
/// tool's guidance already approves, and what the vendor publishes about training, retention
/// and residency. Every one is marked `verify`: an admin checks it against the signed terms
/// (and records whether an enterprise agreement is in place, which only the company knows).
/// Tools not listed here start without a profile: every class declared for them goes to a
/// person. Bump `SEED_VERSION` when these change.
/// (tool id, approved classes, trains on inputs, input retention, data residency, terms URL)
type SeedProfile = (
    &'static str,
    &'static [&'static str],
    TrainsOnInputs,
    &'static str,
    &'static str,
    &'static str,
);

const PROFILES: &[SeedProfile] = &[
    (
        "chatgpt-enterprise",
        &["public", "internal", "confidential"],
        TrainsOnInputs::No,
        "workspace admins set retention",
        "US by default; regional residency offered",
        "https://openai.com/enterprise-privacy/",
    ),
    (
        "github-copilot",
        &["public", "internal", "source-code"],
        TrainsOnInputs::No,
        "per GitHub's Copilot Business terms",
        "US",
        "https://docs.github.com/en/site-policy/github-terms/github-copilot-product-specific-terms",
    ),
    (
        "claude-team",
        &["public", "internal", "confidential"],
        TrainsOnInputs::No,
        "per Anthropic's commercial terms",
        "US",
        "https://www.anthropic.com/legal/commercial-terms",
    ),
    (
        "gemini-enterprise",
        &["public", "internal", "confidential"],
        TrainsOnInputs::No,
        "follows Workspace retention rules",
        "per Workspace data regions",
        "https://workspace.google.com/terms/",
    ),
    (
        "cursor-business",
        &["public", "internal", "source-code"],
        TrainsOnInputs::No,
        "not stored with Privacy Mode enforced",
        "US",
        "https://cursor.com/privacy",
    ),
    (
        "microsoft-365-copilot",
        &["public", "internal", "confidential"],
        TrainsOnInputs::No,
        "follows Microsoft 365 retention policies",
        "Microsoft 365 data residency (EU Data Boundary available)",
        "https://learn.microsoft.com/copilot/microsoft-365/microsoft-365-copilot-privacy",
    ),
    (
        "chatgpt-plus",
        &["public"],
        TrainsOnInputs::OptOut,
        "consumer account history",
        "US",
        "https://openai.com/policies/privacy-policy/",
    ),
    (
        "openai-api",
        &["public", "internal", "confidential"],
        TrainsOnInputs::No,
        "up to 30 days for abuse monitoring unless zero retention is agreed",
        "US by default; regional residency offered",
        "https://openai.com/enterprise-privacy/",
    ),
    (
        "anthropic-api",
        &["public", "internal", "confidential"],
        TrainsOnInputs::No,
        "per Anthropic's commercial terms",
        "US",
        "https://www.anthropic.com/legal/commercial-terms",
    ),
    (
        "azure-openai",
        &["public", "internal", "confidential"],
        TrainsOnInputs::No,
        "up to 30 days for abuse monitoring unless an exemption is approved",
        "the Azure region the resource is created in",
        "https://learn.microsoft.com/legal/cognitive-services/openai/data-privacy",
    ),
    (
        "deepseek-chat",
        &[],
        TrainsOnInputs::Yes,
        "per DeepSeek's privacy policy",
        "People's Republic of China",
        "https://www.deepseek.com/",
    ),
];

/// The seed profile of tool `id`, if its vendor's terms are public (see `PROFILES`).
fn profile_of(id: &str) -> Option<DataProfile> {
    let (_, classes, trains, retention, residency, url) = PROFILES.iter().find(|p| p.0 == id)?;
    Some(DataProfile {
        approved_classes: classes.iter().map(|c| c.to_string()).collect(),
        conditions: vec![],
        vendor_terms: VendorTerms {
            trains_on_inputs: *trains,
            input_retention: retention.to_string(),
            data_residency: residency.to_string(),
            enterprise_agreement: false,
            terms_url: Some(url.to_string()),
            verify: true,
        },
    })
}

/// The seed catalog, in display order.
pub fn catalog() -> Vec<Tool> {
    SEEDS.iter().map(Seed::tool).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn catalog_is_large_with_unique_valid_ids() {
        let tools = catalog();
        assert!(tools.len() >= 18, "only {} tools", tools.len());
        let ids: BTreeSet<&str> = tools.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids.len(), tools.len(), "duplicate ids");
        for t in &tools {
            assert!(crate::catalog::is_tool_id(&t.id), "bad id {}", t.id);
            assert!(
                (1..=t.risk_level.default_max_days()).contains(&t.default_expiry_days),
                "{}: {} days over the {} maximum",
                t.id,
                t.default_expiry_days,
                t.risk_level.as_str()
            );
            assert!(
                !t.guidance.is_empty() && !t.fulfilment_notes.is_empty(),
                "{}",
                t.id
            );
            assert_eq!((t.version, t.updated_at.as_str()), (0, ""));
            assert!(t.connector_id.is_none() && t.entitlement_group.is_none());
        }
        // Mostly approved, with a few refusals that explain themselves.
        let refused: Vec<&Tool> = tools
            .iter()
            .filter(|t| t.status != ToolStatus::Approved)
            .collect();
        assert!(!refused.is_empty() && refused.len() * 4 < tools.len());
        for t in refused {
            assert!(
                t.guidance.starts_with("Blocked:") || t.guidance.starts_with("Denied:"),
                "{} gives no reason",
                t.id
            );
        }
    }

    #[test]
    fn fixture_tools_have_fixed_facts() {
        let tools = catalog();
        let expect = [
            (
                "chatgpt-enterprise",
                "ChatGPT Enterprise",
                "OpenAI",
                Approved,
                Medium,
                90,
            ),
            (
                "github-copilot",
                "GitHub Copilot Business",
                "GitHub (Microsoft)",
                Approved,
                Low,
                180,
            ),
            (
                "claude-team",
                "Claude Team",
                "Anthropic",
                Approved,
                Medium,
                90,
            ),
            (
                "gemini-enterprise",
                "Gemini for Google Workspace (Enterprise)",
                "Google",
                Approved,
                Medium,
                60,
            ),
            (
                "cursor-business",
                "Cursor Business",
                "Anysphere",
                Approved,
                High,
                30,
            ),
            (
                "midjourney",
                "Midjourney",
                "Midjourney, Inc.",
                Blocked,
                High,
                30,
            ),
            (
                "deepseek-chat",
                "DeepSeek Chat",
                "DeepSeek",
                Denied,
                Critical,
                14,
            ),
        ];
        for (id, name, provider, status, risk, days) in expect {
            let t = tools
                .iter()
                .find(|t| t.id == id)
                .unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!(t.display_name, name, "{id}");
            assert_eq!(t.provider, provider, "{id}");
            assert_eq!(t.status, status, "{id}");
            assert_eq!(t.risk_level, risk, "{id}");
            assert_eq!(t.default_expiry_days, days, "{id}");
        }
    }

    #[test]
    fn every_tool_passes_catalog_validation() {
        for t in catalog() {
            assert!(t.guidance.chars().count() <= 2000, "{}", t.id);
            assert!(t.display_name.chars().count() <= 120, "{}", t.id);
            assert!(t.provider.chars().count() <= 120, "{}", t.id);
            // parse trims: seeded text must not depend on that.
            assert_eq!(t.guidance.trim(), t.guidance, "{}", t.id);
            let v = serde_json::to_value(&t).unwrap();
            let parsed = crate::catalog::parse(&v)
                .unwrap_or_else(|e| panic!("{} rejected: {e} {:?}", t.id, e.details));
            assert_eq!(parsed.id, t.id);
            assert_eq!(parsed.display_name, t.display_name);
            assert_eq!(parsed.provider, t.provider);
            assert_eq!(parsed.status, t.status);
            assert_eq!(parsed.risk_level, t.risk_level);
            assert_eq!(parsed.default_expiry_days, t.default_expiry_days);
            assert_eq!(parsed.guidance, t.guidance);
            assert_eq!(parsed.fulfilment_notes, t.fulfilment_notes);
            assert_eq!(parsed.data_profile, t.data_profile, "{}", t.id);
        }
    }

    #[test]
    fn seed_profiles_name_seeded_tools_and_are_marked_for_verification() {
        let tools = catalog();
        for (id, ..) in PROFILES {
            let t = tools
                .iter()
                .find(|t| t.id == *id)
                .unwrap_or_else(|| panic!("{id}"));
            let p = t.data_profile.as_ref().unwrap();
            assert!(p.vendor_terms.verify, "{id}");
            assert!(
                !p.vendor_terms.enterprise_agreement,
                "{id}: only the company knows"
            );
        }
        let p = |id: &str| {
            tools
                .iter()
                .find(|t| t.id == id)
                .unwrap()
                .data_profile
                .clone()
        };
        assert!(p("github-copilot")
            .unwrap()
            .approved_classes
            .contains(&"source-code".into()));
        assert!(!p("chatgpt-enterprise")
            .unwrap()
            .approved_classes
            .contains(&"customer-data".into()));
        assert!(p("deepseek-chat").unwrap().approved_classes.is_empty());
        assert!(p("jasper").is_none(), "no public facts seeded: no profile");
    }
}
