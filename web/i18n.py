"""The portal's words, in English and Spanish. A missing key is an error (the test walks both)."""

from __future__ import annotations

LANGUAGES = ("en", "es")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Victim services portal", "quick_exit": "Quick exit", "quick_exit_hint":
        "Press Esc or Quick exit to leave this site at once.", "skip": "Skip to content",
        "sign_in": "Sign in", "access_id": "Access ID", "secret": "PIN, passphrase or one-time code",
        "sign_in_help": "Use the access ID and one-time code staff gave you the first time; then your own PIN.",
        "sign_out": "Sign out", "language": "Language", "english": "English", "spanish": "Español",
        "choose_pin": "Choose your PIN or passphrase", "pin": "New PIN or passphrase", "pin_again": "The same again",
        "pin_help": "At least 6 characters. Nobody at the agency can see it.", "save": "Save",
        "pin_mismatch": "The two entries are not the same.", "pin_weak": "Choose at least 6 characters, not all the same.",
        "home": "Your page", "how_reached": "How we reach you", "channels": "Channels, most preferred first",
        "email": "E-mail", "sms": "Text message", "letter": "Letter", "not_on_file": "not on file: ask staff to add it",
        "notice_language": "Language of your notices", "time_zone": "Your time zone",
        "time_zone_help": "For example America/Chicago; leave empty for the case's.",
        "registrations": "Your notice registrations", "no_registrations": "You are not registered for notices.",
        "events": "Events you are told about", "change_events": "Save events", "register": "Register for notices",
        "opt_out_all": "Stop all notices now", "opt_out_help": "Stops every registration at once. You can register again.",
        "processes": "Your requests", "dialogues": "Victim-offender dialogue",
        "dialogue_help": "A meeting or exchange with the person who harmed you, prepared by a trained facilitator. "
                         "Only you can ask for it, and you can stop at any time.",
        "request_dialogue": "Ask for a dialogue", "letters": "Letters held for you",
        "notices": "Notices sent to you", "no_notices": "No notices yet.", "status": "Status", "sent": "Sent",
        "confirm": "Confirm I received this", "confirmed": "Confirmed", "view": "Read",
        "contact": "Talk to an advocate", "ask_contact": "Ask an advocate to contact me",
        "contact_asked": "You asked an advocate to contact you. They will reach you on your chosen channel.",
        "done": "Done.", "back": "Back to your page", "state": "State", "started": "Started",
        "act_pause": "Pause", "act_resume": "Resume", "act_withdraw": "Withdraw", "act_request": "Ask for the letter",
        "act_defer": "Not now", "act_decline": "I never want it", "act_change_events": "Save events",
        "opt_out": "Opt out", "registration": "Registration", "dialogue": "Dialogue", "letter_held": "Letter",
        "not_found": "Not found.", "not_found_help": "There is nothing here that you can see.",
        "forbidden": "This form has expired. Please go back, reload the page and try again.",
        "signed_out": "You are signed out. Please sign in again.", "error": "Something went wrong.",
        "error_help": "Nothing was changed. Please try again, or call us.", "refused": "That could not be done.",
        "confirm_title": "Confirm you received a notice", "confirm_button": "Yes, I received it",
        "confirm_done": "Thank you. We recorded that you received the notice.",
        "link_invalid": "This link was used already, has expired, or is not valid.",
        "call_us": "Questions? Call", "queued": "Waiting to be sent", "failed": "Could not be delivered",
        "held": "Held for review", "sending": "Sending", "emergency": "Urgent",
        "awaiting_print": "Letter waiting to be printed", "printed": "Letter printed", "mailed": "Letter mailed",
        "delivered": "Letter delivered", "returned": "Letter came back undelivered",
        "state_active": "Active", "state_paused": "Paused", "state_withdrawn": "Withdrawn", "state_ended": "Ended",
        "state_open": "In progress", "state_held": "In the bank, waiting for you",
        "state_victim_requested": "You asked for it", "privacy": "This site keeps no record in your browser "
        "after you sign out. On a shared device, use a private window.",
    },
    "es": {
        "title": "Portal de servicios a víctimas", "quick_exit": "Salida rápida", "quick_exit_hint":
        "Pulse Esc o Salida rápida para salir de este sitio de inmediato.", "skip": "Ir al contenido",
        "sign_in": "Entrar", "access_id": "ID de acceso", "secret": "PIN, frase de acceso o código de un solo uso",
        "sign_in_help": "La primera vez use el ID de acceso y el código que le dio el personal; después, su PIN.",
        "sign_out": "Salir", "language": "Idioma", "english": "English", "spanish": "Español",
        "choose_pin": "Elija su PIN o frase de acceso", "pin": "Nuevo PIN o frase", "pin_again": "Repítalo",
        "pin_help": "Al menos 6 caracteres. Nadie en la agencia puede verlo.", "save": "Guardar",
        "pin_mismatch": "Las dos entradas no son iguales.", "pin_weak": "Elija al menos 6 caracteres, no todos iguales.",
        "home": "Su página", "how_reached": "Cómo le contactamos", "channels": "Medios, el preferido primero",
        "email": "Correo electrónico", "sms": "Mensaje de texto", "letter": "Carta",
        "not_on_file": "no registrado: pida al personal que lo agregue",
        "notice_language": "Idioma de sus avisos", "time_zone": "Su zona horaria",
        "time_zone_help": "Por ejemplo America/Chicago; déjelo vacío para la del caso.",
        "registrations": "Sus registros de avisos", "no_registrations": "No está registrado para recibir avisos.",
        "events": "Eventos de los que le avisamos", "change_events": "Guardar eventos", "register": "Registrarse para avisos",
        "opt_out_all": "Dejar de recibir todos los avisos ahora",
        "opt_out_help": "Detiene todos los registros a la vez. Puede registrarse de nuevo.",
        "processes": "Sus solicitudes", "dialogues": "Diálogo entre víctima y ofensor",
        "dialogue_help": "Un encuentro o intercambio con la persona que le hizo daño, preparado por un facilitador "
                         "capacitado. Solo usted puede pedirlo, y puede detenerlo en cualquier momento.",
        "request_dialogue": "Pedir un diálogo", "letters": "Cartas guardadas para usted",
        "notices": "Avisos enviados a usted", "no_notices": "Aún no hay avisos.", "status": "Estado", "sent": "Enviado",
        "confirm": "Confirmo que lo recibí", "confirmed": "Confirmado", "view": "Leer",
        "contact": "Hablar con un defensor", "ask_contact": "Pedir que un defensor me contacte",
        "contact_asked": "Pidió que un defensor le contacte. Le contactarán por el medio que eligió.",
        "done": "Hecho.", "back": "Volver a su página", "state": "Estado", "started": "Inicio",
        "act_pause": "Pausar", "act_resume": "Reanudar", "act_withdraw": "Retirar", "act_request": "Pedir la carta",
        "act_defer": "Ahora no", "act_decline": "Nunca la quiero", "act_change_events": "Guardar eventos",
        "opt_out": "Darse de baja", "registration": "Registro", "dialogue": "Diálogo", "letter_held": "Carta",
        "not_found": "No encontrado.", "not_found_help": "Aquí no hay nada que usted pueda ver.",
        "forbidden": "Este formulario caducó. Vuelva atrás, recargue la página e inténtelo de nuevo.",
        "signed_out": "Su sesión terminó. Entre de nuevo.", "error": "Algo salió mal.",
        "error_help": "No se cambió nada. Inténtelo de nuevo o llámenos.", "refused": "No se pudo hacer.",
        "confirm_title": "Confirme que recibió un aviso", "confirm_button": "Sí, lo recibí",
        "confirm_done": "Gracias. Registramos que recibió el aviso.",
        "link_invalid": "Este enlace ya se usó, caducó o no es válido.",
        "call_us": "¿Preguntas? Llame a", "queued": "Por enviar", "failed": "No se pudo entregar",
        "held": "Retenido para revisión", "sending": "Enviando", "emergency": "Urgente",
        "awaiting_print": "Carta por imprimir", "printed": "Carta impresa", "mailed": "Carta enviada por correo",
        "delivered": "Carta entregada", "returned": "La carta fue devuelta sin entregar",
        "state_active": "Activo", "state_paused": "En pausa", "state_withdrawn": "Retirado", "state_ended": "Terminado",
        "state_open": "En curso", "state_held": "En el banco, esperándole",
        "state_victim_requested": "Usted la pidió", "privacy": "Este sitio no guarda nada en su navegador "
        "al salir. En un aparato compartido, use una ventana privada.",
    },
}

EVENT_NAMES = {
    "en": {"release_scheduled": "Release scheduled", "released": "Release", "transfer": "Transfer",
           "escape": "Escape", "recapture": "Recapture", "death": "Death", "parole_hearing": "Parole hearing",
           "violation_hearing": "Violation hearing", "court_hearing": "Court hearing", "furlough": "Furlough",
           "work_release": "Work release", "absconded": "Absconding", "discharged": "Discharge from supervision",
           "letter_held": "An apology letter is held for me"},
    "es": {"release_scheduled": "Liberación programada", "released": "Liberación", "transfer": "Traslado",
           "escape": "Fuga", "recapture": "Recaptura", "death": "Fallecimiento", "parole_hearing": "Audiencia de libertad condicional",
           "violation_hearing": "Audiencia por violación", "court_hearing": "Audiencia judicial", "furlough": "Permiso de salida",
           "work_release": "Salida laboral", "absconded": "Fuga de supervisión", "discharged": "Fin de la supervisión",
           "letter_held": "Hay una carta de disculpa guardada para mí"},
}


def words(language: str):
    table = STRINGS[language if language in STRINGS else "en"]

    def t(key: str) -> str:
        return table[key]

    return t
