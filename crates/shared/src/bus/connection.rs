//! One Redis server or a Redis Cluster behind one client and one connection type: a `redis_url`
//! naming several nodes (comma-separated) selects the cluster client.

use std::time::Duration;

use anyhow::Context as _;
use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::{ClusterClient, ClusterConfig},
    cluster_async::ClusterConnection,
    Client, Cmd, Pipeline, RedisFuture, Value,
};

/// Opens connections to the configured Redis deployment.
#[derive(Clone)]
pub(crate) enum RedisClient {
    Single(Client),
    Cluster(ClusterClient),
}

impl RedisClient {
    /// `redis://host:port` for one server; `redis://a:7000,redis://b:7001,…` for a cluster's seed
    /// nodes (the rest are discovered).
    pub(crate) fn open(redis_url: &str) -> anyhow::Result<Self> {
        let nodes = cluster_nodes(redis_url);
        match nodes.as_slice() {
            [single] => Ok(Self::Single(
                Client::open(*single).context("invalid redis_url")?,
            )),
            nodes => Ok(Self::Cluster(
                ClusterClient::builder(nodes.to_vec())
                    .retries(2)
                    .build()
                    .context("invalid redis_url (cluster nodes)")?,
            )),
        }
    }

    /// A new connection that gives up on a reply after `response_timeout`.
    pub(crate) async fn connect(
        &self,
        response_timeout: Duration,
    ) -> anyhow::Result<RedisConnection> {
        let connection_timeout = Duration::from_secs(2);
        match self {
            Self::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(connection_timeout)
                    .set_response_timeout(response_timeout)
                    .set_number_of_retries(1);
                let manager = ConnectionManager::new_with_config(client.clone(), config)
                    .await
                    .context("cannot connect to Redis")?;
                Ok(RedisConnection::Single(manager))
            }
            Self::Cluster(client) => {
                let config = ClusterConfig::new()
                    .set_connection_timeout(connection_timeout)
                    .set_response_timeout(response_timeout);
                let connection = client
                    .get_async_connection_with_config(config)
                    .await
                    .context("cannot connect to the Redis Cluster")?;
                Ok(RedisConnection::Cluster(connection))
            }
        }
    }
}

/// The seed nodes of a `redis_url`: one entry for a single server.
pub fn cluster_nodes(redis_url: &str) -> Vec<&str> {
    redis_url
        .split(',')
        .map(str::trim)
        .filter(|node| !node.is_empty())
        .collect()
}

/// A multiplexed, self-healing connection to one Redis server or to a whole cluster (commands
/// routed by their keys' hash slots). Cheap to clone.
#[derive(Clone)]
pub enum RedisConnection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}
