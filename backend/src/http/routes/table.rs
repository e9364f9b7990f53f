//! The API's route table. Every route under `/api/v1` is registered through [`resource`], which
//! builds the actix resource and, when the app is built, records each `(method, path)` it
//! serves. The OpenAPI document is checked against this record (`openapi::tests` and
//! `tests/api/contract.rs`): a route added without documentation, or documentation of a route
//! that does not exist, fails the build's tests.

use std::{
    collections::BTreeSet,
    sync::{Mutex, PoisonError},
};

use actix_web::{
    FromRequest, Handler, Responder,
    dev::{AppService, HttpServiceFactory},
    http::Method,
    web,
};

/// Every `(method, path)` registered so far in this process, paths relative to `/api/v1`.
static REGISTERED: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// The routes recorded by every app built in this process, as `(METHOD, path)` with paths
/// relative to the `/api/v1` scope, in order.
pub fn registered() -> Vec<(String, String)> {
    REGISTERED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .cloned()
        .collect()
}

/// A resource of the API: its path, the methods it serves and the actix resource serving them.
pub struct Resource {
    path: String,
    methods: Vec<Method>,
    inner: actix_web::Resource,
}

/// Starts a resource at `path` (relative to `/api/v1`).
pub fn resource(path: impl Into<String>) -> Resource {
    let path = path.into();
    Resource {
        inner: web::resource(path.clone()),
        path,
        methods: Vec::new(),
    }
}

macro_rules! method {
    ($($name:ident => $method:ident),* $(,)?) => {$(
        #[doc = concat!("Serves `", stringify!($method), "` with `handler`.")]
        pub fn $name<F, Args>(self, handler: F) -> Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.to(Method::$method, handler)
        }
    )*};
}

impl Resource {
    method!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE);

    fn to<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.inner = self.inner.route(web::method(method.clone()).to(handler));
        self.methods.push(method);
        self
    }

    /// Records the routes and hands over the actix resource, for a caller that wraps it in
    /// middleware before registering it.
    pub fn recorded(self) -> actix_web::Resource {
        let mut table = REGISTERED.lock().unwrap_or_else(PoisonError::into_inner);
        for method in &self.methods {
            table.insert((method.as_str().to_owned(), self.path.clone()));
        }
        self.inner
    }
}

impl HttpServiceFactory for Resource {
    fn register(self, config: &mut AppService) {
        self.recorded().register(config);
    }
}
