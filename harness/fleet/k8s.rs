//! `segbench fleet k8s`: prints the Kubernetes objects of one fleet run, for `kubectl apply -f -`.
//! Kubernetes places and starts the ranks; segbench only writes the manifest:
//!
//! - a headless Service (`clusterIP: None`, `publishNotReadyAddresses: true`, so rank 0's name
//!   `NAME-0.NAME` resolves before any pod is ready);
//! - a Secret with a fresh run token, given to every pod as `SEGBENCH_FLEET_TOKEN`;
//! - an Indexed Job of N pods, one per node (required pod anti-affinity), whose index
//!   (`JOB_COMPLETION_INDEX`, set by Kubernetes) is the rank; `fleet run --size N --k8s-job NAME
//!   --k8s-service NAME` finds rank 0 from it. Rank 0's summary goes to its pod log, its results
//!   to `/results` (an `emptyDir`, or a PersistentVolumeClaim with `--pvc`).

use super::rank::DEFAULT_PORT;

/// Where each pod works (its data directories, on the node's disk) and where rank 0 writes.
const WORK_DIR: &str = "/work";
const RESULTS_DIR: &str = "/results";

/// A validated `segbench fleet k8s`.
#[derive(Debug, Clone)]
pub struct K8sLaunch {
    /// Pods, one per node.
    pub nodes: u32,
    /// The container image with segbench as its entry point.
    pub image: String,
    /// Namespace of every object (none: kubectl's current one).
    pub namespace: Option<String>,
    /// Name of the Job and of the Service (the Secret is NAME-token).
    pub name: String,
    /// A PersistentVolumeClaim for `/results` instead of an `emptyDir`.
    pub pvc: Option<String>,
    /// `fleet run`'s arguments (after `run`).
    pub run_args: Vec<String>,
}

/// Checks a Kubernetes object name for the Job, its Service and its pods' host names (an RFC
/// 1123 label, short enough for `NAME-INDEX` and `NAME-token`).
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 50
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} '{name}': a Kubernetes name is 1 to 50 lowercase letters, digits and '-', not starting or ending with '-'"
        ))
    }
}

/// `s` as a YAML scalar (a JSON string is one).
fn q(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The manifest: Service, Secret (holding `token`) and Indexed Job, as one YAML stream.
pub fn manifest(l: &K8sLaunch, token: &str) -> String {
    let name = &l.name;
    let ns = l
        .namespace
        .as_ref()
        .map(|n| format!("\n  namespace: {}", q(n)))
        .unwrap_or_default();
    let n = l.nodes;
    let mut args: Vec<String> = ["fleet", "run", "--size", &n.to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend([
        "--k8s-job".into(),
        name.clone(),
        "--k8s-service".into(),
        name.clone(),
        "--out".into(),
        RESULTS_DIR.into(),
    ]);
    args.extend(l.run_args.iter().cloned());
    let args: String = args
        .iter()
        .map(|a| format!("\n            - {}", q(a)))
        .collect();
    let results = match &l.pvc {
        Some(c) => format!("persistentVolumeClaim:\n            claimName: {}", q(c)),
        None => "emptyDir: {}".to_string(),
    };
    let port = DEFAULT_PORT;
    format!(
        r#"# segbench fleet run on {n} node(s): kubectl apply -f THIS. Rank 0's summary:
#   kubectl logs -l job-name={name},batch.kubernetes.io/job-completion-index=0
# and its results in {RESULTS_DIR} of that pod (a volume).
# Remove with: kubectl delete job,service,secret -l segbench-run={name}
apiVersion: v1
kind: Service
metadata:
  name: {name}{ns}
  labels:
    segbench-run: {name}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    segbench-run: {name}
  ports:
    - name: rendezvous
      port: {port}
---
apiVersion: v1
kind: Secret
metadata:
  name: {name}-token{ns}
  labels:
    segbench-run: {name}
type: Opaque
stringData:
  token: {token}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}{ns}
  labels:
    segbench-run: {name}
spec:
  completionMode: Indexed
  completions: {n}
  parallelism: {n}
  backoffLimit: 0
  template:
    metadata:
      labels:
        segbench-run: {name}
    spec:
      restartPolicy: Never
      subdomain: {name}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector:
                matchLabels:
                  segbench-run: {name}
              topologyKey: kubernetes.io/hostname
      containers:
        - name: segbench
          image: {image}
          workingDir: {WORK_DIR}
          args:{args}
          env:
            - name: SEGBENCH_FLEET_TOKEN
              valueFrom:
                secretKeyRef:
                  name: {name}-token
                  key: token
          ports:
            - name: rendezvous
              containerPort: {port}
          volumeMounts:
            - name: work
              mountPath: {WORK_DIR}
            - name: results
              mountPath: {RESULTS_DIR}
      volumes:
        - name: work
          emptyDir: {{}}
        - name: results
          {results}
"#,
        token = q(token),
        image = q(&l.image),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch() -> K8sLaunch {
        K8sLaunch {
            nodes: 4,
            image: "registry.example/segbench:1".into(),
            namespace: Some("bench".into()),
            name: "seg".into(),
            pvc: None,
            run_args: vec!["--quick".into(), "it's".into()],
        }
    }

    /// The value of the first `key:` line after the line containing `after`.
    fn value_after<'a>(y: &'a str, after: &str, key: &str) -> Option<&'a str> {
        let start = y.find(after)?;
        y[start..]
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
            .map(str::trim)
    }

    #[test]
    fn the_manifest_holds_a_headless_service_a_secret_and_an_indexed_job() {
        let y = manifest(&launch(), "abc123");
        let docs: Vec<&str> = y.split("\n---\n").collect();
        assert_eq!(docs.len(), 3);
        for (doc, kind) in docs.iter().zip(["Service", "Secret", "Job"]) {
            assert!(doc.contains(&format!("\nkind: {kind}\n")), "{doc}");
            assert!(doc.contains("\n  namespace: \"bench\"\n"), "{doc}");
            // Two-space indentation throughout, no tabs: a YAML parser's first complaint.
            for l in doc.lines() {
                let indent = l.len() - l.trim_start().len();
                assert!(indent % 2 == 0 && !l.contains('\t'), "{l:?}");
            }
        }
        assert!(
            docs[0].contains("clusterIP: None")
                && docs[0].contains("publishNotReadyAddresses: true")
        );
        assert_eq!(value_after(&y, "kind: Secret", "token"), Some("\"abc123\""));
        let job = docs[2];
        for (key, want) in [
            ("completionMode", "Indexed"),
            ("completions", "4"),
            ("parallelism", "4"),
            ("subdomain", "seg"),
            ("topologyKey", "kubernetes.io/hostname"),
            ("image", "\"registry.example/segbench:1\""),
        ] {
            assert_eq!(value_after(job, "kind: Job", key), Some(want), "{key}");
        }
        assert!(job.contains("requiredDuringSchedulingIgnoredDuringExecution"));
        // The token comes from the Secret, never inline.
        assert_eq!(
            value_after(job, "- name: SEGBENCH_FLEET_TOKEN", "name"),
            Some("seg-token")
        );
        assert!(!job.contains("abc123"));
        // The ranks' arguments: size, the names rank 0 is found by, the user's, quoted.
        let args: Vec<String> = job
            .lines()
            .skip_while(|l| !l.trim().starts_with("args:"))
            .skip(1)
            .take_while(|l| l.trim().starts_with("- \""))
            .map(|l| serde_json::from_str::<String>(l.trim().trim_start_matches("- ")).unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "fleet",
                "run",
                "--size",
                "4",
                "--k8s-job",
                "seg",
                "--k8s-service",
                "seg",
                "--out",
                "/results",
                "--quick",
                "it's"
            ]
        );
        assert!(job.contains("emptyDir: {}\n        - name: results\n          emptyDir: {}"));
    }

    #[test]
    fn a_claim_for_the_results_and_names_are_checked() {
        let l = K8sLaunch {
            pvc: Some("results-claim".into()),
            namespace: None,
            ..launch()
        };
        let y = manifest(&l, "t");
        assert!(y.contains("persistentVolumeClaim:\n            claimName: \"results-claim\""));
        assert!(!y.contains("namespace:"));
        assert!(check_name("--name", "segbench-1").is_ok());
        for bad in ["", "Seg", "-a", "a-", "a_b", &"x".repeat(51)] {
            assert!(check_name("--name", bad).is_err(), "{bad}");
        }
    }
}
