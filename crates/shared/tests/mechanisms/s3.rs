//! The S3 media store against a real S3-compatible server (moto's server mode, from PyPI).

use std::{net::TcpListener, process::Stdio, time::Duration};

use bytes::Bytes;
use shared::storage::{MediaKey, MediaStore, S3Store};

/// A moto server on a free port, killed on drop.
struct MotoServer {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_moto() -> anyhow::Result<MotoServer> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!("moto_server is required (pip install 'moto[server]'): {e}")
        })?;
    let server = MotoServer {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("moto_server did not start on port {port}")
}

#[tokio::test]
async fn the_s3_store_is_content_addressed_on_a_real_s3_server() -> anyhow::Result<()> {
    let moto = start_moto().await?;
    let credentials = aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test");
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(credentials)
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let store = S3Store::new(client.clone(), "media", "reelforge");

    assert!(
        store.check().await.is_err(),
        "a missing bucket is not ready"
    );
    client.create_bucket().bucket("media").send().await?;
    store.check().await?;

    let key = store.put(Bytes::from_static(b"narration"), "wav").await?;
    assert_eq!(key, MediaKey::for_bytes(b"narration", "wav")?);
    assert_eq!(
        store.put(Bytes::from_static(b"narration"), "wav").await?,
        key
    );
    assert!(store.exists(&key).await?);
    assert_eq!(store.get(&key).await?, Bytes::from_static(b"narration"));
    assert!(
        !store
            .exists(&MediaKey::for_bytes(b"absent", "wav")?)
            .await?
    );

    let listed = client.list_objects_v2().bucket("media").send().await?;
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        vec![format!(
            "reelforge/{}/{}/{}",
            &key.as_str()[..2],
            &key.as_str()[2..4],
            key
        )]
    );
    store.delete(&key).await?;
    assert!(!store.exists(&key).await?);
    store.delete(&key).await?;
    Ok(())
}
