// The backend's widget API (/api/widget/*), called through Kommo's $authorizedAjax, which signs
// every request with a one-time token of the current user.
import type { WidgetAuthErrorCode } from "./backend";
import type { Texts } from "./i18n";
import type { KommoWidget } from "./kommo";

export type { BackfillView, DealActivity, SettingsView, SyncProblem } from "./backend";

/** GET /api/widget/kommo/pipelines */
export type Pipeline = { id: number; name: string; stages: { id: number; name: string }[] };
/** GET /api/widget/klaviyo/lists */
export type KlaviyoList = { id: string; name: string; doubleOptIn: boolean };

/** A refusal: the backend's { error: { code, message } }, or "network" when no answer came. */
export type ApiError = { status: number; code: string; message: string };

/** Refusals that mean the user's Kommo session (its one-time token) is no longer good. */
const SESSION_ERRORS: readonly WidgetAuthErrorCode[] = ["missing_token", "invalid_token", "token_expired"];

const TIMEOUT_MS = 20 * 1000;

type FailedRequest = { status?: number; responseJSON?: unknown; responseText?: string } | undefined;

function apiError(xhr: FailedRequest): ApiError {
  let answer: unknown = xhr?.responseJSON;
  if (!answer && xhr?.responseText) {
    try {
      answer = JSON.parse(xhr.responseText);
    } catch {
      answer = null;
    }
  }
  const error = (answer as { error?: { code?: unknown; message?: unknown } } | null)?.error ?? {};
  const status = xhr?.status ?? 0;
  return {
    status,
    code: typeof error.code === "string" && error.code ? error.code : status ? `http_${status}` : "network",
    message: typeof error.message === "string" ? error.message : "",
  };
}

export class Api {
  constructor(private readonly widget: KommoWidget) {}

  /** One request. Resolves with the JSON answer; rejects with an ApiError. */
  request<Answer>(method: "GET" | "POST" | "PUT", path: string, body?: unknown): Promise<Answer> {
    const options: JQuery.AjaxSettings = {
      url: BACKEND_URL.replace(/\/+$/, "") + path,
      method,
      type: method,
      dataType: "json",
      timeout: TIMEOUT_MS,
    };
    if (body !== undefined) {
      options.data = JSON.stringify(body);
      options.contentType = "application/json";
    }
    return new Promise<Answer>((resolve, reject) => {
      this.widget.$authorizedAjax(options).then(
        (answer) => resolve(answer as Answer),
        (xhr: FailedRequest) => reject(apiError(xhr)),
      );
    });
  }

  get<Answer>(path: string): Promise<Answer> {
    return this.request<Answer>("GET", path);
  }
}

/** A refusal of the backend in the user's language. */
export function errorText(texts: Texts, error: ApiError): string {
  const { code } = error;
  if (!code || code === "network" || error.status === 0) return texts.t("errors.network");
  if ((SESSION_ERRORS as readonly string[]).includes(code)) return texts.t("errors.session");
  if (code === "klaviyo_key_rejected" && /scope/i.test(error.message)) return texts.t("errors.klaviyo_key_missing_scope");
  if (code === "invalid_settings") return texts.t("errors.invalid_settings", { detail: error.message });
  return texts.optional(`errors.${code}`) ?? texts.t("errors.generic", { code });
}

/** The ApiError of a rejection; anything else thrown is a fault of the widget itself. */
export function asApiError(reason: unknown): ApiError {
  if (reason && typeof reason === "object" && "code" in reason && "status" in reason) return reason as ApiError;
  return { status: 500, code: "internal_error", message: String(reason) };
}
