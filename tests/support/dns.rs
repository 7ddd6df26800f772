//! A small authoritative DNS server on 127.0.0.1 for the look-up tests (`SCANMAIL_DNS`): MX and
//! SRV records for test domains, NXDOMAIN for the rest, or silence. Answers over UDP only.

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::{MX, SRV};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

pub struct Dns {
    pub port: u16,
    /// Every question asked: name and type.
    pub asked: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(name: &str, kind: RecordType) -> Option<Vec<RData>> {
    let n = |s: &str| Name::from_str(s).unwrap();
    let mx = |pref, host: &str| RData::MX(MX::new(pref, n(host)));
    Some(match (name, kind) {
        ("gworkspace.test.", RecordType::MX) => vec![
            mx(10, "alt1.aspmx.l.google.com."),
            mx(1, "aspmx.l.google.com."),
        ],
        ("contoso.test.", RecordType::MX) => {
            vec![mx(0, "contoso-test.mail.protection.outlook.com.")]
        }
        ("ownmail.test.", RecordType::MX) => vec![mx(10, "mx.ownmail.test.")],
        ("_submissions._tcp.ownmail.test.", RecordType::SRV) => {
            vec![RData::SRV(SRV::new(0, 1, 465, n("smtp.ownmail.test.")))]
        }
        ("_submission._tcp.srvonly.test.", RecordType::SRV) => {
            vec![RData::SRV(SRV::new(0, 1, 587, n("mail.srvonly.test.")))]
        }
        ("_submission._tcp.planted.test.", RecordType::SRV) => {
            vec![RData::SRV(SRV::new(0, 1, 587, n("smtp.attacker.example.")))]
        }
        ("_submission._tcp.googlesrv.test.", RecordType::SRV) => {
            vec![RData::SRV(SRV::new(0, 1, 587, n("smtp.gmail.com.")))]
        }
        ("googlesrv.test.", RecordType::MX) => vec![mx(5, "mx.googlesrv.test.")],
        (_, _) if name.ends_with("test.") && !name.contains("nowhere") => Vec::new(),
        _ => return None,
    })
}

impl Dns {
    /// Starts the server; `silent` never answers (a server that is down or filtered).
    pub async fn start(silent: bool) -> Dns {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let asked2 = asked.clone();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(q) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let Some(query) = q.queries.first().cloned() else {
                    continue;
                };
                let name = query.name().to_string().to_ascii_lowercase();
                asked2
                    .lock()
                    .unwrap()
                    .push(format!("{name} {}", query.query_type()));
                if silent {
                    continue;
                }
                let mut r = Message::response(q.metadata.id, q.metadata.op_code);
                r.metadata.message_type = MessageType::Response;
                r.metadata.authoritative = true;
                r.metadata.recursion_desired = q.metadata.recursion_desired;
                r.queries.push(query.clone());
                match answer(&name, query.query_type()) {
                    Some(data) => {
                        for d in data {
                            r.answers
                                .push(Record::from_rdata(query.name().clone(), 300, d));
                        }
                    }
                    None => r.metadata.response_code = ResponseCode::NXDomain,
                }
                if let Ok(bytes) = r.to_vec() {
                    let _ = socket.send_to(&bytes, from).await;
                }
            }
        });
        Dns { port, asked, task }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}
