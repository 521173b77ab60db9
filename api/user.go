package api

import (
	"net/http"

	"github.com/plaza-crm/plaza"
)

// handleUserCreate creates a user: with an owner's or admin's credentials,
// in their workspace; without, as a self sign-up when the server allows it.
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) error {
	var in plaza.UserCreate
	if err := decode(r, &in); err != nil {
		return err
	}
	if p := plaza.PrincipalFromContext(r.Context()); p != nil {
		in.WorkspaceID = p.WorkspaceID
	} else if !s.AllowSignup {
		return plaza.Errorf(plaza.EUNAUTHORIZED, "Sign-up is disabled: a workspace owner or admin must create the user.")
	} else {
		in.Role = plaza.RoleOwner
	}
	u, ws, err := s.Users.CreateUser(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Usuario creado exitosamente", map[string]any{"userId": u.ID, "email": u.Email, "workspaceId": ws.ID, "role": u.Role})
}

func (s *Server) handleUserByEmail(w http.ResponseWriter, r *http.Request) error {
	email := query(r, "email")
	if email == "" {
		return plaza.Invalid(plaza.FieldError{Field: "email", Message: "email is required."})
	}
	u, err := s.Users.FindUserByEmail(r.Context(), email)
	if err != nil {
		return err
	}
	return ok(w, "User obtained successfully.", u)
}

func (s *Server) handleUserLogin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	login, err := s.Users.Login(r.Context(), in.Email, in.Password, clientAddr(r))
	if err != nil {
		return err
	}
	return ok(w, "Login successful.", login)
}

func (s *Server) handleUserSendReset(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email   string `json:"email"`
		Company string `json:"company"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Users.RequestPasswordReset(r.Context(), in.Email, clientAddr(r)); err != nil {
		return err
	}
	return ok(w, "If the email is registered, a verification code has been sent to it.", nil)
}

func (s *Server) handleUserResetPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email          string `json:"email"`
		NewPassword    string `json:"newPassword"`
		VerificationID string `json:"verificationId"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Users.ResetPassword(r.Context(), in.Email, in.VerificationID, in.NewPassword, clientAddr(r)); err != nil {
		return err
	}
	return ok(w, "Password updated successfully.", nil)
}
