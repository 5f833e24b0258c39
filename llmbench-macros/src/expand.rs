//! What `#[llm_bench]` expands to: the function, unchanged, plus its
//! registration through `inventory` — or, on any error, the function
//! unchanged plus the errors, so that the rest of the file still resolves and
//! IDEs keep working (as tokio-macros does).
//!
//! Generated code names only `<crate>::__private` and `::core`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Error, Item, ItemFn, LitStr, Path, ReturnType, Safety};

use crate::attr::{self, Errors, Options};

/// The whole attribute: `args` is what is inside `#[llm_bench(...)]`, `item`
/// what it is applied to.
pub(crate) fn llm_bench(args: TokenStream, item: TokenStream) -> TokenStream {
    let options = attr::parse(args);
    let function = function(item.clone());
    match (options, function) {
        (Ok(options), Ok(function)) => {
            let registration = register(&options, &function);
            quote! { #item #registration }
        }
        (options, function) => {
            let mut errors = Errors::default();
            for error in [options.err(), function.err()].into_iter().flatten() {
                errors.push(error);
            }
            let errors = errors.finish().err().map(Error::into_compile_error);
            quote! { #item #errors }
        }
    }
}

/// The item as a function `#[llm_bench]` can register, or why it cannot be.
///
/// The type of the return value is not checked here: rustc checks it when
/// the function is coerced to `fn() -> Workload` in the registration.
fn function(item: TokenStream) -> syn::Result<ItemFn> {
    let function = match syn::parse2::<Item>(item)? {
        Item::Fn(function) => function,
        other => return Err(not_a_function(&other)),
    };
    let mut errors = Errors::default();
    let sig = &function.sig;
    if let Err(error) = function.modifiers.require_empty() {
        errors.push(error);
    }
    if let Some(async_token) = sig.asyncness {
        errors.push(Error::new(
            async_token.span,
            "a benchmark function cannot be `async`: it only builds the `Workload`, \
             llmbench sends the requests",
        ));
    }
    if let Safety::Unsafe(unsafe_token) = sig.safety {
        errors.push(Error::new(unsafe_token.span, "a benchmark function cannot be `unsafe`"));
    }
    if let Some(abi) = &sig.abi {
        errors.push(Error::new_spanned(abi, "a benchmark function cannot have an `extern` ABI"));
    }
    if !sig.generics.params.is_empty() {
        errors.push(Error::new_spanned(&sig.generics, "a benchmark function cannot be generic"));
    }
    if !sig.inputs.is_empty() || sig.variadic.is_some() {
        let inputs = &sig.inputs;
        let variadic = &sig.variadic;
        errors.push(Error::new_spanned(
            quote!(#inputs #variadic),
            "a benchmark function takes no parameters: it is called as `fn() -> Workload`",
        ));
    }
    if let ReturnType::Default = sig.output {
        let (fn_token, ident) = (&sig.fn_token, &sig.ident);
        errors.push(Error::new_spanned(
            quote!(#fn_token #ident),
            format!("a benchmark function must return a `Workload`: `fn {ident}() -> Workload`"),
        ));
    }
    if let Some(again) = function.attrs.iter().find(|a| is_llm_bench(a.path())) {
        errors.push(Error::new_spanned(again, format!("`#[llm_bench]` is applied more than once to `{}`", sig.ident)));
    }
    errors.finish()?;
    Ok(function)
}

/// Whether an attribute left on the item is a second `#[llm_bench]`, under
/// its usual name; a renamed import is caught by the guard constant instead.
fn is_llm_bench(path: &Path) -> bool {
    path.segments.last().is_some_and(|segment| segment.ident == "llm_bench")
}

fn not_a_function(item: &Item) -> Error {
    let (kind, tokens) = match item {
        Item::Const(i) => ("a constant", pair(&i.const_token, &i.ident)),
        Item::Enum(i) => ("an enum", pair(&i.enum_token, &i.ident)),
        Item::Impl(i) => ("an impl block", pair(&i.impl_token, &i.self_ty)),
        Item::Mod(i) => ("a module", pair(&i.mod_token, &i.ident)),
        Item::Static(i) => ("a static", pair(&i.static_token, &i.ident)),
        Item::Struct(i) => ("a struct", pair(&i.struct_token, &i.ident)),
        Item::Trait(i) => ("a trait", pair(&i.trait_token, &i.ident)),
        Item::Type(i) => ("a type alias", pair(&i.type_token, &i.ident)),
        Item::Union(i) => ("a union", pair(&i.union_token, &i.ident)),
        Item::Use(i) => ("a `use`", i.use_token.to_token_stream()),
        _ => {
            return Error::new(Span::call_site(), "`#[llm_bench]` applies to functions only");
        }
    };
    Error::new_spanned(tokens, format!("`#[llm_bench]` applies to functions, not to {kind}"))
}

fn pair(a: &impl ToTokens, b: &impl ToTokens) -> TokenStream {
    quote!(#a #b)
}

/// The guard constant, the `inventory` submission and its `BenchDef`.
fn register(options: &Options, function: &ItemFn) -> TokenStream {
    let krate = options.krate.clone().unwrap_or_else(|| syn::parse_quote!(::llmbench));
    let private = quote!(#krate::__private);
    let ident = &function.sig.ident;
    let fn_name = ident.unraw().to_string();

    // A second expansion for the same function defines this name again,
    // which rustc rejects: applying the attribute twice cannot go unnoticed
    // even when it is imported under another name.
    let guard = format_ident!("__LLMBENCH_{}", fn_name, span = ident.span());
    let name = options.name.clone().unwrap_or_else(|| LitStr::new(&fn_name, ident.span()));
    // `line!()` spanned at the function name reports the name's line, not the
    // attribute's.
    let line = quote_spanned!(ident.span()=> ::core::line!());
    let workload = workload(function);
    // Each setting's key names a constant of `__private::setting_keys`, so
    // an unknown key is a compile error at the key (with rustc's "a
    // constant with a similar name exists"); its value is checked by
    // llmbench's grammar when the binary starts.
    let key_checks = options.settings.iter().map(|s| {
        let key = &s.key;
        let keys = respan(quote!(#private::setting_keys), key.span());
        quote_spanned!(key.span()=> const _: () = #keys::#key;)
    });
    let settings = options.settings.iter().map(|s| {
        let key = s.key.unraw().to_string();
        let toml = &s.toml;
        let line = quote_spanned!(s.key.span()=> ::core::line!());
        quote!((#key, #toml, #line))
    });
    let ignore = match &options.ignore {
        Some(condition) => quote! {
            ::core::option::Option::Some({
                fn __llmbench_ignore() -> ::core::primitive::bool { #condition }
                __llmbench_ignore
            })
        },
        None => quote!(::core::option::Option::None),
    };
    let check = check(&private, options.check.as_ref());
    quote! {
        #[doc(hidden)]
        #[allow(dead_code, non_upper_case_globals)]
        const #guard: () = ();

        #(#key_checks)*

        const _: () = {
            #private::inventory::submit! {
                #private::BenchDef {
                    name: #name,
                    module_path: ::core::module_path!(),
                    file: ::core::file!(),
                    line: #line,
                    workload: #workload,
                    ignore: #ignore,
                    check: #check,
                    settings: &[#(#settings),*],
                }
            }
        };
    }
}

/// The `check` field: `None`, or a function wrapping the closure so that it
/// gets its parameter type from `as_check`'s bound and may return `bool` or
/// `Result<(), impl Display>`.
fn check(private: &TokenStream, check: Option<&syn::Expr>) -> TokenStream {
    match check {
        // The closure gets its parameter type from `as_check`'s bound, and
        // may return `bool` or `Result<(), impl Display>`.
        Some(check) => {
            // Spanned at the closure, so a wrong return type is reported there.
            let span = syn::spanned::Spanned::span(check);
            let spanned_private = respan(private.clone(), span);
            let call = quote_spanned!(span=> #spanned_private::as_check(#check)(resp));
            quote! {
                ::core::option::Option::Some({
                    fn __llmbench_check(
                        resp: &#private::Response<'_>,
                    ) -> ::core::result::Result<(), ::std::string::String> {
                        #private::check_outcome(#call)
                    }
                    __llmbench_check
                })
            }
        }
        None => quote!(::core::option::Option::None),
    }
}

/// The function as the `workload` field, spanned at its return type so that
/// a wrong return type is reported there.
fn workload(function: &ItemFn) -> TokenStream {
    let mut ident = function.sig.ident.clone();
    if let ReturnType::Type(_, ty) = &function.sig.output
        && let Some(first) = ty.to_token_stream().into_iter().next()
    {
        ident.set_span(first.span());
    }
    ident.into_token_stream()
}

/// `tokens` with every span set to `span` (groups included).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(g) = &tree {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tree = group.into();
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: TokenStream, item: TokenStream) -> String {
        llm_bench(args, item).to_string()
    }

    /// The messages of the `compile_error!`s in an expansion.
    fn errors(expansion: &str) -> Vec<String> {
        expansion
            .split(":: core :: compile_error ! { ")
            .skip(1)
            .map(|rest| rest.split(" }").next().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn registers_the_function_and_keeps_it() {
        let item = quote! {
            /// doc
            fn short() -> Workload { Workload::synthetic() }
        };
        let out = expand(
            quote!(
                samples = 100,
                concurrency = [1, 8],
                targets = ["a"],
                timeout = "30s",
                limits = ["e2e.p50<1s"],
                ignore = f()
            ),
            item.clone(),
        );
        assert!(out.starts_with(&item.to_string()), "{out}");
        for fragment in [
            "const __LLMBENCH_short : () = () ;",
            "const _ : () = :: llmbench :: __private :: setting_keys :: samples ;",
            "const _ : () = :: llmbench :: __private :: setting_keys :: limits ;",
            "const _ : () = { :: llmbench :: __private :: inventory :: submit ! { :: llmbench :: __private :: BenchDef {",
            r#"name : "short" ,"#,
            "workload : short ,",
            r#"settings : & [("samples" , "100" , :: core :: line ! ()) , ("concurrency" , "[1, 8]" , :: core :: line ! ())"#,
            r#"("timeout" , "\"30s\"" , :: core :: line ! ())"#,
            "fn __llmbench_ignore () -> :: core :: primitive :: bool { f () }",
        ] {
            assert!(out.contains(fragment), "missing `{fragment}` in {out}");
        }
        assert!(errors(&out).is_empty());
    }

    #[test]
    fn name_and_crate_options() {
        let out = expand(
            quote!(name = "other", crate = ::renamed),
            quote!(
                fn r#match() -> W {
                    W
                }
            ),
        );
        assert!(out.contains(r#"name : "other""#), "{out}");
        assert!(out.contains("const __LLMBENCH_match"), "{out}");
        assert!(out.contains(":: renamed :: __private :: BenchDef"), "{out}");
        assert!(!out.contains("llmbench ::"), "{out}");
    }

    #[test]
    fn on_error_the_item_is_kept_with_every_error() {
        let item = quote!(
            async fn short<T>(x: u32) {}
        );
        let out = expand(quote!(samples = N), item.clone());
        assert!(out.starts_with(&item.to_string()), "{out}");
        assert!(!out.contains("submit"), "{out}");
        assert_eq!(
            errors(&out),
            [
                r#""`samples` must be a literal (a string, a number, a boolean) or a list of them, read as in llmbench.toml""#,
                r#""a benchmark function cannot be `async`: it only builds the `Workload`, llmbench sends the requests""#,
                r#""a benchmark function cannot be generic""#,
                r#""a benchmark function takes no parameters: it is called as `fn() -> Workload`""#,
                r#""a benchmark function must return a `Workload`: `fn short() -> Workload`""#,
            ]
        );
    }

    #[test]
    fn unsafe_and_extern_fns_are_rejected() {
        let out = expand(
            quote!(),
            quote!(
                unsafe extern "C" fn f() -> W {
                    W
                }
            ),
        );
        assert_eq!(
            errors(&out),
            [r#""a benchmark function cannot be `unsafe`""#, r#""a benchmark function cannot have an `extern` ABI""#,]
        );
    }

    #[test]
    fn non_functions_are_rejected() {
        let item = quote!(
            struct S;
        );
        let out = expand(quote!(), item.clone());
        assert!(out.starts_with(&item.to_string()), "{out}");
        assert_eq!(errors(&out), [r#""`#[llm_bench]` applies to functions, not to a struct""#]);
    }

    #[test]
    fn a_second_attribute_is_rejected() {
        let out = expand(
            quote!(),
            quote!(
                #[llmbench::llm_bench(samples = 1)]
                fn f() -> W {
                    W
                }
            ),
        );
        assert_eq!(errors(&out), [r#""`#[llm_bench]` is applied more than once to `f`""#]);
    }
}
